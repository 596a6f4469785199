"""A project's egresses (``rm_egresses``) and ingresses (``rm_ingresses``).

Every list is of one project, the one the caller's key belongs to; the project
filter comes first and the optional filters can only narrow it. The ``every_*``
reads span all projects and are for Pulse's own jobs (reconciliation), never for a
route.
"""

from __future__ import annotations

from uuid import UUID

from pymongo.asynchronous.database import AsyncDatabase

from pulse.domain.egress import EgressStatus
from pulse.domain.ingress import IngressStatus
from pulse.projections.collections import EGRESSES, INGRESSES
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


# Fields reconciliation needs: enough to ask LiveKit, not the whole resource.
_TO_RECONCILE = {"_id": 1, "project_id": 1, "region": 1, "status": 1}


async def every_unfinished_egress(db: AsyncDatabase[Document]) -> list[Document]:
    """Every egress LiveKit accepted that has not ended, across projects (reconciliation).

    Requested ones without LiveKit's id are left out: there is nothing to ask about.
    """
    query: Document = {
        "status": {"$in": [str(EgressStatus.ACTIVE), str(EgressStatus.ENDING)]},
        "livekit_egress_id": {"$ne": None},
    }
    return await db[EGRESSES].find(query, {**_TO_RECONCILE, "livekit_egress_id": 1}).to_list()


async def every_live_ingress(db: AsyncDatabase[Document]) -> list[Document]:
    """Every ingress someone is publishing to, as far as Pulse knows (reconciliation).

    These are the ones a lost ``ingress_ended`` leaves stale for ever.
    """
    query: Document = {
        "status": {"$in": [str(IngressStatus.BUFFERING), str(IngressStatus.PUBLISHING)]},
        "deleted": False,
        "livekit_ingress_id": {"$ne": None},
    }
    return await db[INGRESSES].find(query, {**_TO_RECONCILE, "livekit_ingress_id": 1}).to_list()
