"""A project's invoices (``rm_invoices``), oldest period first."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from pulse.projections.collections import INVOICES
from pulse.queries.pagination import DEFAULT_LIMIT, Document, Page, paginate


async def list_invoices(
    db: AsyncDatabase[Document],
    project_id: str,
    *,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    query: Document = {"project_id": str(project_id)}
    if status is not None:
        query["status"] = status
    return await paginate(
        db[INVOICES], query, limit=limit, cursor=cursor, sort_field="period_start"
    )
