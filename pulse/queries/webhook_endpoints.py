"""A project's webhook endpoints (``rm_webhook_endpoints``), for lists and fan-out."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from pulse.projections.collections import WEBHOOK_ENDPOINTS
from pulse.queries.pagination import DEFAULT_LIMIT, Document, Page, paginate


async def list_endpoints(
    db: AsyncDatabase[Document],
    project_id: str,
    *,
    enabled: bool | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """The project's endpoints, oldest first; deleted ones are gone."""
    query: Document = {"project_id": str(project_id), "deleted": False}
    if enabled is not None:
        query["enabled"] = enabled
    return await paginate(db[WEBHOOK_ENDPOINTS], query, limit=limit, cursor=cursor)
