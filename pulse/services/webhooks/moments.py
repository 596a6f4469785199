"""When things happened, as precisely as LiveKit's webhooks tell.

Every moment is cut to whole milliseconds: that is LiveKit's finest unit and what
MongoDB keeps, so the aggregates and the read models hold the very same times.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from livekit.api import WebhookEvent
from livekit.protocol.models import ParticipantInfo
from livekit.protocol.models import Room as LiveKitRoom

_SECOND = timedelta(seconds=1)


def to_millisecond(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def from_unix_ms(milliseconds: int) -> datetime:
    # Integer arithmetic: a float division could round to the next millisecond.
    seconds, remainder = divmod(milliseconds, 1000)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(milliseconds=remainder)


def event_moment(event: WebhookEvent, received_at: datetime) -> datetime:
    """When LiveKit created the event.

    LiveKit stamps events in whole seconds (``created_at``), so the true moment lies
    in ``[created_at, created_at + 1 s)``. A delivery received inside that second
    pins it to the millisecond (it cannot have happened after it arrived); a later
    delivery (queued, retried) says nothing more, and the second is kept.
    """
    received_at = to_millisecond(received_at)
    if not event.created_at:
        return received_at
    created = datetime.fromtimestamp(int(event.created_at), UTC)
    return received_at if created <= received_at < created + _SECOND else created


def joined_moment(participant: ParticipantInfo, fallback: datetime) -> datetime:
    """When the participant joined: LiveKit's milliseconds, else its seconds."""
    if participant.joined_at_ms:
        return from_unix_ms(int(participant.joined_at_ms))
    if participant.joined_at:
        return datetime.fromtimestamp(int(participant.joined_at), UTC)
    return fallback


def started_moment(room: LiveKitRoom, fallback: datetime) -> datetime:
    """When the room instance was created: LiveKit's milliseconds, else its seconds."""
    if room.creation_time_ms:
        return from_unix_ms(int(room.creation_time_ms))
    if room.creation_time:
        return datetime.fromtimestamp(int(room.creation_time), UTC)
    return fallback
