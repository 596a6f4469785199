"""What a job finds in arq's context dict, with typed accessors."""

from __future__ import annotations

from typing import Any, cast

from pulse.clients import Clients
from pulse.config import Settings
from pulse.projections.options import ProjectionSettings
from pulse.services.provider import ApplicationProvider

JobContext = dict[str, Any]
"""arq's per-worker context; arq also adds job_id, job_try, enqueue_time, redis."""

SETTINGS_KEY = "settings"
CLIENTS_KEY = "clients"
PROVIDER_KEY = "pulse"
PROJECTION_SETTINGS_KEY = "projection_settings"


def settings_of(ctx: JobContext) -> Settings:
    return cast(Settings, ctx[SETTINGS_KEY])


def clients_of(ctx: JobContext) -> Clients:
    return cast(Clients, ctx[CLIENTS_KEY])


def provider_of(ctx: JobContext) -> ApplicationProvider:
    """The worker's ``PulseApplication`` (built on first use, in a job's thread)."""
    return cast(ApplicationProvider, ctx[PROVIDER_KEY])


def projection_settings_of(ctx: JobContext) -> ProjectionSettings:
    return cast(ProjectionSettings, ctx[PROJECTION_SETTINGS_KEY])
