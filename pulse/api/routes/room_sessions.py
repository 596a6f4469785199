"""A room's history, as LiveKit's webhooks and reconciliation recorded it.

``GET /v1/rooms/{room}/instances`` lists every instance of the room name (each start
to end on LiveKit), ``GET /v1/rooms/{room}/sessions`` every participant's stay with
its duration. Both read the ``media_rooms`` read model (eventually consistent) and
answer 404 for a room name the key's project never had: the key implies the
project, so another project's rooms are simply not there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pulse.api.auth import CurrentProjectKey
from pulse.api.dependencies import ClientsDep
from pulse.api.management_schemas import Page
from pulse.api.openapi import problem_responses
from pulse.api.pagination import Cursor, Limit, page_of
from pulse.api.problems import Problem
from pulse.livekit.naming import check_room_name
from pulse.queries.media_rooms import list_rooms, room_sessions
from pulse.services.errors import NotFoundError

router = APIRouter(prefix="/v1/rooms", tags=["rooms"])

_READ = problem_responses((401, Problem), (404, Problem), (422, Problem))


class RoomInstanceOut(BaseModel):
    id: str
    name: str
    livekit_sid: str
    started_at: datetime
    ended_at: datetime | None
    open: bool
    closed_by: str | None = Field(description="`webhook` or `reconciliation`; null while open.")
    close_reason: str | None


class TrackRecordOut(BaseModel):
    sid: str
    kind: str
    source: str
    published_at: datetime
    unpublished_at: datetime | None


class SessionOut(BaseModel):
    id: str
    room_name: str
    room_sid: str
    participant_sid: str
    identity: str
    name: str
    joined_at: datetime
    left_at: datetime | None
    open: bool
    duration_ms: int | None = Field(description="Exact, in whole milliseconds; null while open.")
    duration_seconds: float | None
    closed_by: str | None = Field(description="`webhook` or `reconciliation`; null while open.")
    close_reason: str | None
    tracks: list[TrackRecordOut]


OpenOnly = Annotated[bool, Query(description="Only what is live now (as far as Pulse knows).")]


async def _require_room(clients: ClientsDep, project_id: object, room: str) -> None:
    # One document is enough to know the name was ever used by this project.
    found = await list_rooms(clients.database, str(project_id), name=room, limit=1)
    if not found.items:
        raise NotFoundError(f"Room {room}")


@router.get(
    "/{room}/instances",
    response_model=Page[RoomInstanceOut],
    summary="Every instance of the room, oldest first (eventually consistent)",
    responses=_READ,
)
async def instances(
    room: str,
    key: CurrentProjectKey,
    clients: ClientsDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    open: OpenOnly = False,
) -> Page[RoomInstanceOut]:
    check_room_name(room)
    await _require_room(clients, key.project_id, room)
    found = await list_rooms(
        clients.database, key.project_id, name=room, open_only=open, limit=limit, cursor=cursor
    )
    return page_of(found, RoomInstanceOut)


@router.get(
    "/{room}/sessions",
    response_model=Page[SessionOut],
    summary="Participants' sessions in the room, earliest join first (eventually consistent)",
    responses=_READ,
)
async def sessions(
    room: str,
    key: CurrentProjectKey,
    clients: ClientsDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    open: OpenOnly = False,
    livekit_sid: Annotated[
        str | None, Query(max_length=64, description="Only this instance (its LiveKit sid).")
    ] = None,
) -> Page[SessionOut]:
    check_room_name(room)
    await _require_room(clients, key.project_id, room)
    found = await room_sessions(
        clients.database,
        key.project_id,
        room,
        livekit_sid=livekit_sid,
        open_only=open,
        limit=limit,
        cursor=cursor,
    )
    return page_of(found, SessionOut)
