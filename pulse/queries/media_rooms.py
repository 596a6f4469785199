"""LiveKit room instances (``rm_rooms``) and participant sessions (``rm_participant_sessions``).

Every list is of one project: the caller checks that the principal may see it
first, as for any project resource. The ``every_open_*`` reads span all projects
and are for Pulse's own jobs (reconciliation), never for a route.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from uuid import UUID

from pymongo.asynchronous.database import AsyncDatabase

from pulse.projections.collections import PARTICIPANT_SESSIONS, ROOMS
from pulse.queries.pagination import DEFAULT_LIMIT, Document, Page, paginate


async def list_rooms(
    db: AsyncDatabase[Document],
    project_id: UUID | str,
    *,
    name: str | None = None,
    open_only: bool = False,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """The project's room instances, oldest start first (a name may have many)."""
    query: Document = {"project_id": str(project_id)}
    if name is not None:
        query["name"] = name
    if open_only:
        query["open"] = True
    return await paginate(db[ROOMS], query, limit=limit, cursor=cursor, sort_field="started_at")


async def open_sessions(
    db: AsyncDatabase[Document],
    project_id: UUID | str,
    *,
    room: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Who is in the project's rooms now (as far as Pulse knows), earliest join first."""
    query: Document = {"project_id": str(project_id), "open": True}
    if room is not None:
        query["room_name"] = room
    return await paginate(
        db[PARTICIPANT_SESSIONS], query, limit=limit, cursor=cursor, sort_field="joined_at"
    )


async def room_sessions(
    db: AsyncDatabase[Document],
    project_id: UUID | str,
    room: str,
    *,
    livekit_sid: str | None = None,
    open_only: bool = False,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Sessions in the project's room ``room`` (every instance, or the one ``livekit_sid``)."""
    query: Document = {"project_id": str(project_id), "room_name": room}
    if livekit_sid is not None:
        query["room_sid"] = livekit_sid
    if open_only:
        query["open"] = True
    return await paginate(
        db[PARTICIPANT_SESSIONS], query, limit=limit, cursor=cursor, sort_field="joined_at"
    )


async def every_open_room(db: AsyncDatabase[Document]) -> list[Document]:
    """Every room instance Pulse believes live, across projects (for reconciliation)."""
    return await db[ROOMS].find({"open": True}).to_list()


async def every_open_session(db: AsyncDatabase[Document]) -> list[Document]:
    """Every session Pulse believes open, across projects (for reconciliation)."""
    return await db[PARTICIPANT_SESSIONS].find({"open": True}).to_list()


async def latest_session_ends(
    db: AsyncDatabase[Document], room_ids: Collection[str]
) -> dict[str, datetime]:
    """The latest ``left_at`` among the closed sessions of each of these rooms (by room id)."""
    if not room_ids:
        return {}
    latest: dict[str, datetime] = {}
    cursor = db[PARTICIPANT_SESSIONS].find(
        {"room_id": {"$in": list(room_ids)}, "open": False}, {"room_id": 1, "left_at": 1}
    )
    async for session in cursor:
        left_at, room_id = session.get("left_at"), session["room_id"]
        if left_at is not None and (room_id not in latest or left_at > latest[room_id]):
            latest[room_id] = left_at
    return latest
