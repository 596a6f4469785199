"""Room: one LiveKit room *instance*, from its start to its end.

A customer's room name ("standup") is reused by many instances over time; LiveKit
gives each instance its own ``sid``, and the aggregate's id is derived from it. So
a second ``room_started`` for the same instance (a redelivered webhook, or a
``participant_joined`` that opened the room first) collides with the first on the
event store's unique key instead of recording the room twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext

_ROOM_NAMESPACE = UUID("889c8f7f-714e-4448-bafd-a28151a8ab81")


class ClosedBy(StrEnum):
    """How Pulse learnt that a room or a participant session ended."""

    WEBHOOK = "webhook"
    RECONCILIATION = "reconciliation"


def room_id(livekit_sid: str) -> UUID:
    return uuid5(_ROOM_NAMESPACE, livekit_sid)


class Room(Aggregate):
    @staticmethod
    def create_id(livekit_sid: str) -> UUID:
        return room_id(livekit_sid)

    @event("Started")
    def __init__(
        self,
        project_id: UUID,
        name: str,
        livekit_sid: str,
        started_at: datetime,
        context: CommandContext,
    ) -> None:
        self.project_id = project_id
        self.name = name
        self.livekit_sid = livekit_sid
        self.started_at = started_at
        self.ended_at: datetime | None = None
        self.closed_by: ClosedBy | None = None
        self.close_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    def end(
        self, ended_at: datetime, closed_by: ClosedBy, reason: str, context: CommandContext
    ) -> bool:
        """Record the end once; False (and no event) if the room had ended already.

        The first word wins: a ``room_finished`` arriving after reconciliation
        closed the room changes nothing, so figures never move after they were read.
        An end before the start (clocks of two sources) is taken as the start.
        """
        if not self.is_open:
            return False
        self._ended(
            ended_at=max(ended_at, self.started_at),
            closed_by=str(closed_by),
            reason=reason,
            context=context,
        )
        return True

    @event("Ended")
    def _ended(
        self, ended_at: datetime, closed_by: str, reason: str, context: CommandContext
    ) -> None:
        self.ended_at = ended_at
        self.closed_by = ClosedBy(closed_by)
        self.close_reason = reason
