"""Projects (``rm_projects``), only ever of the organizations the caller may see."""

from __future__ import annotations

from collections.abc import Collection

from pymongo.asynchronous.database import AsyncDatabase

from pulse.projections.collections import PROJECTS
from pulse.queries.pagination import DEFAULT_LIMIT, Document, Page, empty_page, paginate
from pulse.queries.search import contains


async def list_projects(
    db: AsyncDatabase[Document],
    organization_ids: Collection[str],
    *,
    organization_id: str | None = None,
    q: str | None = None,
    region: str | None = None,
    include_deleted: bool = False,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Projects of ``organization_ids`` (narrowed to ``organization_id`` if given).

    An ``organization_id`` outside ``organization_ids`` gives an empty page: the
    scope is what the caller may see, and a filter never widens it.
    """
    scope = [str(i) for i in organization_ids]
    if organization_id is not None:
        scope = [i for i in scope if i == str(organization_id)]
    if not scope:
        return empty_page()
    query: Document = {"organization_id": {"$in": scope}}
    if not include_deleted:
        query["deleted"] = False
    if region is not None:
        query["region"] = str(region)
    if q:
        query["name"] = contains(q)
    return await paginate(db[PROJECTS], query, limit=limit, cursor=cursor)
