"""Users as the read model knows them (``rm_users``)."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from pulse.projections.collections import USERS
from pulse.queries.pagination import Document


async def get_user(db: AsyncDatabase[Document], user_id: str) -> Document | None:
    """``{_id, email, name, created_at, version}``, or None if unknown (or not yet projected)."""
    return await db[USERS].find_one({"_id": user_id})
