"""Tuning of the projection runner, from ``PULSE_PROJECTIONS_*`` variables.

Kept apart from ``pulse.config.Settings`` so that the runner's knobs live with the
runner; both read the same environment and ``.env`` file.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ProjectionSettings(BaseSettings):
    """Construct directly in tests (``ProjectionSettings(_env_file=None, ...)``)."""

    model_config = SettingsConfigDict(
        env_prefix="PULSE_PROJECTIONS_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    schedule_seconds: int = Field(default=2, ge=1, le=60)
    """The worker catches up on this schedule, so a lost wake-up only delays."""

    lock_stale_seconds: float = Field(default=60.0, gt=0)
    """A runner that has not renewed its lock for this long is taken to be dead."""

    page_size: int = Field(default=500, ge=1, le=10_000)
    """Notifications read per round trip; the position is recorded after each page."""

    rebuild_lock_wait_seconds: float = Field(default=60.0, ge=0)
    """How long ``rebuild`` waits for a running catch-up to finish before giving up."""
