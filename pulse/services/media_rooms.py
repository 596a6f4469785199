"""A project's rooms on LiveKit: list, create, get, delete, participants, moderation.

Every call names the room through ``livekit_room`` and every listing keeps only the
project's own rooms, so a project key never reaches another project's room on the
shared cluster. What the API changes is recorded on the room's ``RoomModeration``
(who did it, from where), for the audit trail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from livekit import api as lk
from livekit.api import LiveKitAPI

from pulse.domain.context import CommandContext
from pulse.domain.moderation import RoomModeration
from pulse.livekit.errors import livekit_errors
from pulse.livekit.naming import livekit_room, split_livekit_room
from pulse.services.application import PulseApplication
from pulse.services.errors import NotFoundError
from pulse.services.moderation import ban, moderation_of
from pulse.services.retries import retry_on_conflict


async def _record(
    app: PulseApplication,
    project_id: UUID,
    room: str,
    context: CommandContext,
    change: Callable[[RoomModeration], None],
) -> None:
    """Record an API change on the room's moderation (off the event loop)."""

    def command() -> None:
        moderation = moderation_of(app, project_id, room, context)
        change(moderation)
        app.save(moderation)

    await asyncio.to_thread(retry_on_conflict, command)


async def list_rooms(client: LiveKitAPI, project_id: UUID) -> list[tuple[str, lk.Room]]:
    with livekit_errors("list rooms"):
        found = await client.room.list_rooms(lk.ListRoomsRequest())
    rooms = []
    for room in found.rooms:
        owner = split_livekit_room(room.name)
        if owner is not None and owner[0] == project_id:
            rooms.append((owner[1], room))
    return sorted(rooms, key=lambda pair: pair[0])


async def get_room(client: LiveKitAPI, project_id: UUID, room: str) -> lk.Room:
    name = livekit_room(project_id, room)
    with livekit_errors(f"read room {room}"):
        found = await client.room.list_rooms(lk.ListRoomsRequest(names=[name]))
    for candidate in found.rooms:
        if candidate.name == name:
            return candidate
    raise NotFoundError(f"Room {room}")


async def create_room(
    app: PulseApplication,
    client: LiveKitAPI,
    project_id: UUID,
    room: str,
    empty_timeout: int,
    max_participants: int,
    metadata: str,
    context: CommandContext,
) -> lk.Room:
    with livekit_errors(f"create room {room}"):
        created = await client.room.create_room(
            lk.CreateRoomRequest(
                name=livekit_room(project_id, room),
                empty_timeout=empty_timeout,
                max_participants=max_participants,
                metadata=metadata,
            )
        )
    settings: dict[str, int | str] = {
        "empty_timeout": empty_timeout,
        "max_participants": max_participants,
    }
    await _record(app, project_id, room, context, lambda m: m.record_created(settings, context))
    return created


async def delete_room(
    app: PulseApplication, client: LiveKitAPI, project_id: UUID, room: str, context: CommandContext
) -> None:
    await get_room(client, project_id, room)  # 404 rather than LiveKit's silence.
    with livekit_errors(f"delete room {room}"):
        await client.room.delete_room(lk.DeleteRoomRequest(room=livekit_room(project_id, room)))
    await _record(app, project_id, room, context, lambda m: m.record_deleted(context))


async def list_participants(
    client: LiveKitAPI, project_id: UUID, room: str
) -> list[lk.ParticipantInfo]:
    await get_room(client, project_id, room)
    with livekit_errors(f"list the participants of room {room}"):
        found = await client.room.list_participants(
            lk.ListParticipantsRequest(room=livekit_room(project_id, room))
        )
    return list(found.participants)


async def remove_participant(
    app: PulseApplication,
    client: LiveKitAPI,
    project_id: UUID,
    room: str,
    identity: str,
    context: CommandContext,
) -> None:
    with livekit_errors(f"remove '{identity}' from room {room}"):
        await client.room.remove_participant(
            lk.RoomParticipantIdentity(room=livekit_room(project_id, room), identity=identity)
        )
    await _record(app, project_id, room, context, lambda m: m.record_removal(identity, context))


async def mute_track(
    app: PulseApplication,
    client: LiveKitAPI,
    project_id: UUID,
    room: str,
    identity: str,
    track_sid: str,
    muted: bool,
    context: CommandContext,
) -> lk.TrackInfo:
    with livekit_errors(f"mute a track of '{identity}' in room {room}"):
        answer = await client.room.mute_published_track(
            lk.MuteRoomTrackRequest(
                room=livekit_room(project_id, room),
                identity=identity,
                track_sid=track_sid,
                muted=muted,
            )
        )
    await _record(
        app, project_id, room, context, lambda m: m.record_mute(identity, track_sid, muted, context)
    )
    return answer.track


async def ban_identity(
    app: PulseApplication,
    client: LiveKitAPI,
    project_id: UUID,
    room: str,
    identity: str,
    until: datetime,
    reason: str,
    context: CommandContext,
) -> RoomModeration:
    """Ban, then drop the current connection: the ban is what must never be lost.

    Tokens are refused from the moment the ban is saved; LiveKit then drops the
    identity if it is connected (not being connected is no error). A token minted
    before the ban is refused on rejoin by the webhook intake, which removes a
    banned identity as soon as LiveKit reports it joined.
    """
    moderation = await asyncio.to_thread(
        ban, app, project_id, room, identity, until, reason, context
    )
    try:
        with livekit_errors(f"remove '{identity}' from room {room}"):
            await client.room.remove_participant(
                lk.RoomParticipantIdentity(room=livekit_room(project_id, room), identity=identity)
            )
    except NotFoundError:
        pass  # Not connected now.
    return moderation
