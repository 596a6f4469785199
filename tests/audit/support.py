"""Helpers of the audit tests: bringing the audit log up to date, reading it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

from pymongo import AsyncMongoClient, MongoClient
from pymongo.asynchronous.database import AsyncDatabase

from pulse.projections import audit_log
from pulse.projections.collections import AUDIT_LOG
from pulse.projections.runner import catch_up
from pulse.projections.store import read_model_database
from tests.conftest import MONGO_URI
from tests.management.world import World

T = TypeVar("T")


def settle(world: World) -> None:
    """Every read model, the audit log included (registered or not), up to date."""
    world.settle()
    catch_up(audit_log.PROJECTION, world.app, read_model_database(world.app), world.settings)


def log_of(world: World, organization_id: UUID, who: str = "owner", **filters: str) -> Any:
    """Every entry of an organization's log the API lists, following the cursor."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"organization_id": str(organization_id), "limit": "100", **filters}
        if cursor:
            params["cursor"] = cursor
        response = world.client.get("/v1/audit-logs", params=params, headers=world.headers(who))
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def stored_entries(world: World) -> list[dict[str, Any]]:
    """``rm_audit_log`` as stored, every organization's."""
    with MongoClient(world.settings.mongo_uri) as mongo:
        return list(mongo[world.settings.mongo_database][AUDIT_LOG].find())


def with_async_database(
    world: World, work: Callable[[AsyncDatabase[dict[str, Any]]], Awaitable[T]]
) -> T:
    async def run() -> T:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(MONGO_URI)
        try:
            return await work(client[world.settings.mongo_database])
        finally:
            await client.close()

    return asyncio.run(run())
