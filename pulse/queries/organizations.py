"""Organizations (``rm_organizations``), only ever among the ids the caller may see."""

from __future__ import annotations

from collections.abc import Collection

from pymongo.asynchronous.database import AsyncDatabase

from pulse.projections.collections import ORGANIZATIONS
from pulse.queries.pagination import DEFAULT_LIMIT, Document, Page, empty_page, paginate
from pulse.queries.search import contains


async def list_organizations(
    db: AsyncDatabase[Document],
    organization_ids: Collection[str],
    *,
    q: str | None = None,
    plan: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Organizations among ``organization_ids``, not deleted; ``q``: name contains."""
    if not organization_ids:
        return empty_page()
    query: Document = {"_id": {"$in": [str(i) for i in organization_ids]}, "deleted": False}
    if plan is not None:
        query["plan"] = str(plan)
    if q:
        query["name"] = contains(q)
    return await paginate(db[ORGANIZATIONS], query, limit=limit, cursor=cursor)
