"""ParticipantSession: one participant's stay in one room instance.

LiveKit gives every connection of a participant its own ``sid``; the session's id is
derived from (room sid, participant sid), so a redelivered ``participant_joined``
collides instead of opening a second session.

The duration is a ``Decimal`` number of seconds with exactly three decimals: the
times come from LiveKit to the millisecond, and usage is summed over many sessions,
where binary floats would drift (0.1 + 0.2 != 0.3) and integer seconds would lose up
to a second per session.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.room import ClosedBy

_SESSION_NAMESPACE = UUID("0406c064-4a9b-44db-8d7e-456fd3f3b92f")
_MILLISECOND = timedelta(milliseconds=1)


def session_id(room_sid: str, participant_sid: str) -> UUID:
    return uuid5(_SESSION_NAMESPACE, f"{room_sid}:{participant_sid}")


def elapsed_seconds(start: datetime, end: datetime) -> Decimal:
    """Whole milliseconds from ``start`` to ``end``, as seconds (never negative)."""
    milliseconds = max(0, (end - start) // _MILLISECOND)
    return Decimal(milliseconds) / 1000


class ParticipantSession(Aggregate):
    @staticmethod
    def create_id(room_sid: str, participant_sid: str) -> UUID:
        return session_id(room_sid, participant_sid)

    @event("Joined")
    def __init__(
        self,
        project_id: UUID,
        room_id: UUID,
        room_name: str,
        room_sid: str,
        participant_sid: str,
        identity: str,
        name: str,
        joined_at: datetime,
        context: CommandContext,
    ) -> None:
        self.project_id = project_id
        self.room_id = room_id
        self.room_name = room_name
        self.room_sid = room_sid
        self.participant_sid = participant_sid
        self.identity = identity
        self.name = name
        self.joined_at = joined_at
        self.left_at: datetime | None = None
        self.duration: Decimal | None = None
        self.closed_by: ClosedBy | None = None
        self.close_reason: str | None = None
        self.published_tracks: dict[str, str] = {}
        """Tracks published now: sid -> kind."""

    @property
    def is_open(self) -> bool:
        return self.left_at is None

    def leave(
        self, left_at: datetime, closed_by: ClosedBy, reason: str, context: CommandContext
    ) -> bool:
        """Close the session once; False (and no event) if it was closed already.

        A ``participant_left`` that arrives after reconciliation closed the session
        changes nothing: its duration may already have been read (usage, billing).
        A leave before the join (two clocks) counts as a zero-length stay.
        """
        if not self.is_open:
            return False
        left_at = max(left_at, self.joined_at)
        self._left(
            # Carried so that usage is computed from this one event (see usage_events).
            project_id=self.project_id,
            joined_at=self.joined_at,
            left_at=left_at,
            duration=elapsed_seconds(self.joined_at, left_at),
            closed_by=str(closed_by),
            reason=reason,
            context=context,
        )
        return True

    @event("Left")
    def _left(
        self,
        project_id: UUID,
        joined_at: datetime,
        left_at: datetime,
        duration: Decimal,
        closed_by: str,
        reason: str,
        context: CommandContext,
    ) -> None:
        self.left_at = left_at
        self.duration = duration
        self.closed_by = ClosedBy(closed_by)
        self.close_reason = reason
        self.published_tracks = {}

    def publish_track(
        self, track_sid: str, kind: str, source: str, at: datetime, context: CommandContext
    ) -> bool:
        """Record a published track; False for a repeat or a session already closed."""
        if not self.is_open or track_sid in self.published_tracks:
            return False
        self._track_published(track_sid=track_sid, kind=kind, source=source, at=at, context=context)
        return True

    @event("TrackPublished")
    def _track_published(
        self, track_sid: str, kind: str, source: str, at: datetime, context: CommandContext
    ) -> None:
        self.published_tracks[track_sid] = kind

    def unpublish_track(self, track_sid: str, at: datetime, context: CommandContext) -> bool:
        """Record an unpublished track; False if it is not published (or closed)."""
        if not self.is_open or track_sid not in self.published_tracks:
            return False
        self._track_unpublished(track_sid=track_sid, at=at, context=context)
        return True

    @event("TrackUnpublished")
    def _track_unpublished(self, track_sid: str, at: datetime, context: CommandContext) -> None:
        self.published_tracks.pop(track_sid, None)
