"""Webhook handlers for LiveKit's rooms events: room instances and participant sessions.

Every handler loads what the webhook is about, or creates it when Pulse never heard
of it: LiveKit drops webhooks under load, so a ``participant_left`` may be the first
word about a session (and about its room), and it should still be counted. Handlers
return every aggregate they touched; the intake saves only those that changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.domain import Aggregate
from livekit.protocol.models import DisconnectReason, RoomEndReason, TrackSource, TrackType

from pulse.domain.context import CommandContext
from pulse.domain.participant_session import ParticipantSession, session_id
from pulse.domain.room import ClosedBy, Room, room_id
from pulse.services.application import PulseApplication
from pulse.services.errors import NotFoundError
from pulse.services.webhooks.model import Delivery, Handler
from pulse.services.webhooks.moments import event_moment, joined_moment, started_moment


def _load_or_start_room(app: PulseApplication, delivery: Delivery, context: CommandContext) -> Room:
    info = delivery.event.room
    try:
        return app.load(room_id(info.sid), Room)
    except NotFoundError:
        happened = event_moment(delivery.event, delivery.received_at)
        return Room(
            project_id=delivery.project_id,
            name=delivery.room,
            livekit_sid=info.sid,
            started_at=started_moment(info, happened),
            context=context,
        )


def _load_or_join_session(
    app: PulseApplication, delivery: Delivery, context: CommandContext
) -> list[Aggregate]:
    """The participant's session first, then its room if the session is new.

    The room is only looked at for a new session (usually ``participant_joined``):
    later events of a session need not read the room's events again.
    """
    participant = delivery.event.participant
    room_sid = delivery.event.room.sid
    try:
        return [app.load(session_id(room_sid, participant.sid), ParticipantSession)]
    except NotFoundError:
        pass
    room = _load_or_start_room(app, delivery, context)
    happened = event_moment(delivery.event, delivery.received_at)
    session = ParticipantSession(
        project_id=delivery.project_id,
        room_id=room.id,
        room_name=delivery.room,
        room_sid=room_sid,
        participant_sid=participant.sid,
        identity=participant.identity,
        name=participant.name,
        joined_at=joined_moment(participant, happened),
        context=context,
    )
    return [session, room]


def _has_room(delivery: Delivery) -> bool:
    return bool(delivery.event.room.sid)


def _has_participant(delivery: Delivery) -> bool:
    participant = delivery.event.participant
    return _has_room(delivery) and bool(participant.sid and participant.identity)


def _has_track(delivery: Delivery) -> bool:
    return _has_participant(delivery) and bool(delivery.event.track.sid)


_ProtoEnum = type[RoomEndReason] | type[DisconnectReason] | type[TrackType] | type[TrackSource]


def _enum_name(names: _ProtoEnum, value: int) -> str:
    """LiveKit's name for ``value``, lower-cased; the number if newer than this protocol."""
    try:
        return names.Name(value).lower()
    except ValueError:
        return str(value)


def _reason(
    event_name: str, names: type[RoomEndReason] | type[DisconnectReason], value: int
) -> str:
    """``participant_left (client_initiated)``: the webhook and LiveKit's own reason."""
    return f"{event_name} ({_enum_name(names, value)})" if value else event_name


def room_started(
    app: PulseApplication, delivery: Delivery, context: CommandContext
) -> Sequence[Aggregate]:
    if not _has_room(delivery):
        return []
    return [_load_or_start_room(app, delivery, context)]


def room_finished(
    app: PulseApplication, delivery: Delivery, context: CommandContext
) -> Sequence[Aggregate]:
    if not _has_room(delivery):
        return []
    room = _load_or_start_room(app, delivery, context)
    reason = _reason("room_finished", RoomEndReason, int(delivery.event.room_end_reason))
    room.end(event_moment(delivery.event, delivery.received_at), ClosedBy.WEBHOOK, reason, context)
    return [room]


def participant_joined(
    app: PulseApplication, delivery: Delivery, context: CommandContext
) -> Sequence[Aggregate]:
    if not _has_participant(delivery):
        return []
    return _load_or_join_session(app, delivery, context)


def participant_left(
    app: PulseApplication, delivery: Delivery, context: CommandContext
) -> Sequence[Aggregate]:
    if not _has_participant(delivery):
        return []
    touched = _load_or_join_session(app, delivery, context)
    session = touched[0]
    assert isinstance(session, ParticipantSession)
    participant = delivery.event.participant
    reason = _reason("participant_left", DisconnectReason, int(participant.disconnect_reason))
    session.leave(
        event_moment(delivery.event, delivery.received_at), ClosedBy.WEBHOOK, reason, context
    )
    return touched


def track_published(
    app: PulseApplication, delivery: Delivery, context: CommandContext
) -> Sequence[Aggregate]:
    if not _has_track(delivery):
        return []
    touched = _load_or_join_session(app, delivery, context)
    session = touched[0]
    assert isinstance(session, ParticipantSession)
    track = delivery.event.track
    session.publish_track(
        track.sid,
        _enum_name(TrackType, int(track.type)),
        _enum_name(TrackSource, int(track.source)),
        event_moment(delivery.event, delivery.received_at),
        context,
    )
    return touched


def track_unpublished(
    app: PulseApplication, delivery: Delivery, context: CommandContext
) -> Sequence[Aggregate]:
    if not _has_track(delivery):
        return []
    participant_sid = delivery.event.participant.sid
    try:
        session = app.load(session_id(delivery.event.room.sid, participant_sid), ParticipantSession)
    except NotFoundError:
        return []  # Nothing to unpublish from; a session is not opened for this.
    session.unpublish_track(
        delivery.event.track.sid, event_moment(delivery.event, delivery.received_at), context
    )
    return [session]


HANDLERS: dict[str, Handler] = {
    "room_started": room_started,
    "room_finished": room_finished,
    "participant_joined": participant_joined,
    "participant_left": participant_left,
    "track_published": track_published,
    "track_unpublished": track_unpublished,
}
