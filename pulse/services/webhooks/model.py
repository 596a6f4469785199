"""What a webhook handler receives and returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from eventsourcing.domain import Aggregate
from livekit.api import WebhookEvent

from pulse.domain.context import CommandContext
from pulse.services.application import PulseApplication


@dataclass(frozen=True)
class Delivery:
    """One verified webhook from LiveKit, already mapped to its project."""

    event: WebhookEvent
    project_id: UUID
    room: str
    """The customer's room name (without the project prefix)."""
    received_at: datetime

    @property
    def occurred_at(self) -> datetime:
        """When LiveKit says it happened (``created_at``), else when it arrived."""
        seconds = int(self.event.created_at)
        return datetime.fromtimestamp(seconds, UTC) if seconds else self.received_at


Handler = Callable[[PulseApplication, Delivery, CommandContext], Sequence[Aggregate]]
"""Loads and changes aggregates for one delivery and returns them, unsaved."""
