"""Project keys (``rm_api_keys``): a project's list, and the lookup by secret digest."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from pulse.projections.collections import API_KEYS
from pulse.queries.pagination import Document


async def list_api_keys(
    db: AsyncDatabase[Document], project_id: str, *, organization_id: str | None = None
) -> list[Document]:
    """Every key of a project, newest first, without ``digest``.

    Pass ``organization_id`` to also require the project to belong to it.
    Expired and revoked keys are listed too (``expires_at``, ``revoked_at``).
    """
    query: Document = {"project_id": str(project_id)}
    if organization_id is not None:
        query["organization_id"] = str(organization_id)
    found = db[API_KEYS].find(query, {"digest": 0}).sort([("created_at", -1), ("_id", -1)])
    return await found.to_list()


async def find_api_key_by_digest(db: AsyncDatabase[Document], digest: str) -> Document | None:
    """The key whose secret has this digest (unique index), whatever its state.

    The caller judges it: ``revoked_at``, ``expires_at`` against now, and whether
    its project still exists (``rm_projects.deleted``; a project's deletion does
    not touch its keys' documents).
    """
    return await db[API_KEYS].find_one({"digest": digest})
