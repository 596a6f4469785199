"""A project's rooms on LiveKit, managed with the project's API key."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

from fastapi import APIRouter, Request, Response
from livekit.api import LiveKitAPI

from pulse.api.auth import CurrentProjectKey, command_context
from pulse.api.commands import run_command, run_query
from pulse.api.dependencies import ClientsDep, PulseDep, SettingsDep
from pulse.api.openapi import problem_responses
from pulse.api.problems import Problem
from pulse.api.rooms_schemas import (
    BanCreate,
    BanOut,
    MuteTrack,
    ParticipantOut,
    RoomCreate,
    RoomOut,
    TrackOut,
)
from pulse.clients import Clients
from pulse.config import Settings
from pulse.livekit.naming import check_room_name
from pulse.livekit.selection import serving_region
from pulse.services import media_rooms, media_tokens
from pulse.services.application import PulseApplication
from pulse.services.clock import utc_now
from pulse.services.moderation import lift_ban, moderation_of

router = APIRouter(prefix="/v1/rooms", tags=["rooms"])

_READ = problem_responses((401, Problem), (404, Problem), (503, Problem))
_WRITE = problem_responses((401, Problem), (404, Problem), (409, Problem), (503, Problem))


async def livekit_of(
    app: PulseApplication, clients: Clients, settings: Settings, key: CurrentProjectKey
) -> LiveKitAPI:
    """The LiveKit API of the region serving the key's project (failover included)."""
    region = await media_tokens.project_region(app, key.project_id, key.region)
    serving = await serving_region(
        clients.livekit, clients.redis, settings.redis_key_prefix, region
    )
    return clients.livekit.api(serving.region.code)


@router.get("", response_model=list[RoomOut], summary="The project's live rooms", responses=_READ)
async def list_(
    key: CurrentProjectKey, app: PulseDep, clients: ClientsDep, settings: SettingsDep
) -> list[RoomOut]:
    client = await livekit_of(app, clients, settings, key)
    rooms = await media_rooms.list_rooms(client, key.project_id)
    return [RoomOut.of(name, room) for name, room in rooms]


@router.post(
    "",
    status_code=HTTPStatus.CREATED,
    response_model=RoomOut,
    summary="Create a room (rooms are also created by the first participant's join)",
    responses=_WRITE,
)
async def create(
    body: RoomCreate,
    key: CurrentProjectKey,
    app: PulseDep,
    clients: ClientsDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> RoomOut:
    client = await livekit_of(app, clients, settings, key)
    room = await media_rooms.create_room(
        app,
        client,
        key.project_id,
        body.name,
        body.empty_timeout,
        body.max_participants,
        body.metadata,
        command_context(request, key),
    )
    response.headers["Location"] = f"/v1/rooms/{body.name}"
    return RoomOut.of(body.name, room)


@router.get("/{room}", response_model=RoomOut, summary="One live room", responses=_READ)
async def get(
    room: str, key: CurrentProjectKey, app: PulseDep, clients: ClientsDep, settings: SettingsDep
) -> RoomOut:
    client = await livekit_of(app, clients, settings, key)
    return RoomOut.of(
        room, await media_rooms.get_room(client, key.project_id, check_room_name(room))
    )


@router.delete(
    "/{room}",
    status_code=HTTPStatus.NO_CONTENT,
    summary="Close a room: every participant is disconnected",
    responses=_WRITE,
)
async def delete(
    room: str,
    key: CurrentProjectKey,
    app: PulseDep,
    clients: ClientsDep,
    settings: SettingsDep,
    request: Request,
) -> None:
    client = await livekit_of(app, clients, settings, key)
    await media_rooms.delete_room(
        app, client, key.project_id, check_room_name(room), command_context(request, key)
    )


@router.get(
    "/{room}/participants",
    response_model=list[ParticipantOut],
    summary="Who is in the room now",
    responses=_READ,
)
async def participants(
    room: str, key: CurrentProjectKey, app: PulseDep, clients: ClientsDep, settings: SettingsDep
) -> list[ParticipantOut]:
    client = await livekit_of(app, clients, settings, key)
    found = await media_rooms.list_participants(client, key.project_id, check_room_name(room))
    return [ParticipantOut.of(participant) for participant in found]


@router.delete(
    "/{room}/participants/{identity}",
    status_code=HTTPStatus.NO_CONTENT,
    summary="Disconnect a participant (they may rejoin; ban them to prevent it)",
    responses=_WRITE,
)
async def remove(
    room: str,
    identity: str,
    key: CurrentProjectKey,
    app: PulseDep,
    clients: ClientsDep,
    settings: SettingsDep,
    request: Request,
) -> None:
    client = await livekit_of(app, clients, settings, key)
    await media_rooms.remove_participant(
        app, client, key.project_id, check_room_name(room), identity, command_context(request, key)
    )


@router.post(
    "/{room}/participants/{identity}/mute",
    response_model=TrackOut,
    summary="Mute (or unmute) one of a participant's published tracks",
    responses=_WRITE,
)
async def mute(
    room: str,
    identity: str,
    body: MuteTrack,
    key: CurrentProjectKey,
    app: PulseDep,
    clients: ClientsDep,
    settings: SettingsDep,
    request: Request,
) -> TrackOut:
    client = await livekit_of(app, clients, settings, key)
    track = await media_rooms.mute_track(
        app,
        client,
        key.project_id,
        check_room_name(room),
        identity,
        body.track_sid,
        body.muted,
        command_context(request, key),
    )
    return TrackOut.of(track)


@router.post(
    "/{room}/bans",
    status_code=HTTPStatus.CREATED,
    response_model=BanOut,
    summary="Ban an identity from the room for a while: no new token, current connection dropped",
    responses=_WRITE,
)
async def ban(
    room: str,
    body: BanCreate,
    key: CurrentProjectKey,
    app: PulseDep,
    clients: ClientsDep,
    settings: SettingsDep,
    request: Request,
) -> BanOut:
    client = await livekit_of(app, clients, settings, key)
    until = utc_now() + timedelta(seconds=body.duration_seconds)
    await media_rooms.ban_identity(
        app,
        client,
        key.project_id,
        check_room_name(room),
        body.identity,
        until,
        body.reason,
        command_context(request, key),
    )
    return BanOut(room=room, identity=body.identity, until=until)


@router.get("/{room}/bans", response_model=list[BanOut], summary="Bans in force", responses=_READ)
async def bans(room: str, key: CurrentProjectKey, app: PulseDep, request: Request) -> list[BanOut]:
    context = command_context(request, key)
    moderation = await run_query(moderation_of, app, key.project_id, check_room_name(room), context)
    now = utc_now()
    return [
        BanOut(room=room, identity=identity, until=until)
        for identity, until in sorted(moderation.bans.items())
        if until > now
    ]


@router.delete(
    "/{room}/bans/{identity}",
    status_code=HTTPStatus.NO_CONTENT,
    summary="Lift a ban",
    responses=_WRITE,
)
async def unban(
    room: str, identity: str, key: CurrentProjectKey, app: PulseDep, request: Request
) -> None:
    context = command_context(request, key)
    await run_command(
        request, lift_ban, app, key.project_id, check_room_name(room), identity, context
    )
