"""A project's egresses (``rm_egresses``) and ingresses (``rm_ingresses``).

Every list is of one project, the one the caller's key belongs to; the project
filter comes first and the optional filters can only narrow it.
"""

from __future__ import annotations

from uuid import UUID

from pymongo.asynchronous.database import AsyncDatabase

from pulse.projections.media_egress import EGRESSES
from pulse.projections.media_ingress import INGRESSES
from pulse.queries.pagination import DEFAULT_LIMIT, Document, Page, paginate


def _narrowed(project_id: UUID | str, **filters: str | None) -> Document:
    query: Document = {"project_id": str(project_id)}
    query.update({name: value for name, value in filters.items() if value is not None})
    return query


async def list_egresses(
    db: AsyncDatabase[Document],
    project_id: UUID | str,
    *,
    room: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """The project's egresses, oldest request first."""
    query = _narrowed(project_id, room=room, status=status, kind=kind)
    return await paginate(db[EGRESSES], query, limit=limit, cursor=cursor)


async def list_ingresses(
    db: AsyncDatabase[Document],
    project_id: UUID | str,
    *,
    room: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """The project's ingresses that are not deleted, oldest first."""
    query = {**_narrowed(project_id, room=room, status=status, kind=kind), "deleted": False}
    return await paginate(
        db[INGRESSES], query, limit=limit, cursor=cursor, projection={"deleted": 0}
    )
