"""Counts over the read models for the status routes: projects by region, open rooms.

Counts across every tenant, never documents: these feed public status figures.
"""

from __future__ import annotations

from uuid import UUID

from pymongo.asynchronous.database import AsyncDatabase

from pulse.projections.collections import PROJECTS, ROOMS
from pulse.queries.pagination import Document


async def active_projects(db: AsyncDatabase[Document]) -> int:
    return await db[PROJECTS].count_documents({"deleted": False})


async def projects_per_region(db: AsyncDatabase[Document]) -> dict[str, int]:
    """Projects not deleted, by the region they are placed in (regions with none left out)."""
    pipeline: list[Document] = [
        {"$match": {"deleted": False}},
        {"$group": {"_id": "$region", "count": {"$sum": 1}}},
    ]
    cursor = await db[PROJECTS].aggregate(pipeline)
    return {str(row["_id"]): int(row["count"]) async for row in cursor}


async def open_rooms(db: AsyncDatabase[Document], project_id: UUID) -> int:
    """Room instances of the project that have started and not ended (read model)."""
    return await db[ROOMS].count_documents({"project_id": str(project_id), "open": True})
