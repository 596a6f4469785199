"""Memberships (``rm_members``): whose organizations, and the team of one."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from pulse.projections.collections import MEMBERS, ORGANIZATIONS
from pulse.queries.pagination import DEFAULT_LIMIT, Document, Page, paginate
from pulse.queries.search import contains


async def organization_ids_of_user(db: AsyncDatabase[Document], user_id: str) -> list[str]:
    """Ids of the live organizations where ``user_id`` is an active member, oldest first.

    A deleted organization is gone for its members too: its projects must not show up
    in their lists any more (deletion does not cascade into the projects' events).
    """
    found = (
        db[MEMBERS]
        .find({"user_id": user_id, "active": True}, {"organization_id": 1, "joined_at": 1})
        .sort([("joined_at", 1), ("_id", 1)])
    )
    ids = [str(document["organization_id"]) async for document in found]
    if not ids:
        return []
    deleted = {
        str(document["_id"])
        async for document in db[ORGANIZATIONS].find(
            {"_id": {"$in": ids}, "deleted": True}, {"_id": 1}
        )
    }
    return [organization_id for organization_id in ids if organization_id not in deleted]


async def list_members(
    db: AsyncDatabase[Document],
    organization_id: str,
    *,
    role: str | None = None,
    q: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Active members of one organization, by ``(joined_at, _id)``; ``q``: email contains."""
    query: Document = {"organization_id": organization_id, "active": True}
    if role is not None:
        query["role"] = str(role)
    if q:
        query["email"] = contains(q)
    return await paginate(db[MEMBERS], query, limit=limit, cursor=cursor, sort_field="joined_at")
