"""Keeping the API-key cache right around key-changing commands.

Before the command: forget the cached answers, so nothing cached before the change
outlives it. After it: cache the project's keys at the project's new version, so the
very next request sees the change and a request still holding the old state cannot
write it back (``cache_key_state`` refuses older versions).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from fastapi import Request
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from pulse.api.dependencies import get_app_settings, get_clients, get_pulse
from pulse.domain.project import Project
from pulse.logging import get_logger
from pulse.services.api_key_auth import (
    bury_organization,
    cache_project_keys,
    forget_cached_keys,
)

log = get_logger(__name__)


async def forget_keys(request: Request, digests: Iterable[str]) -> None:
    """Before a change: must succeed, or the command is refused (503) and not run."""
    settings = get_app_settings(request)
    await forget_cached_keys(
        get_clients(request).redis, digests, key_prefix=settings.redis_key_prefix
    )


async def remember_key_states(request: Request, project_id: UUID) -> None:
    """Best effort: the command has committed, so a cache failure must not undo its
    answer. Without the entry, the next check reloads the project (the cache was
    emptied by ``forget_keys`` before the change)."""
    app = get_pulse(request)
    try:
        project = await run_in_threadpool(app.load, project_id, Project)
        await cache_project_keys(get_clients(request).redis, get_app_settings(request), project)
    except (RedisError, PersistenceError) as error:
        log.warning("api_key_cache_not_updated", project_id=str(project_id), error=repr(error))


async def bury_organization_keys(request: Request, organization_id: UUID) -> None:
    """After an organization's deletion: its projects' keys are refused from now on.

    Best effort, like ``remember_key_states``: without the tombstone, entries cached
    before the deletion live out their short TTL, and every later check reloads the
    project and its (deleted) organization.
    """
    settings = get_app_settings(request)
    try:
        await bury_organization(
            get_clients(request).redis,
            organization_id,
            key_prefix=settings.redis_key_prefix,
            ttl_seconds=settings.api_key_cache_seconds,
        )
    except RedisError as error:
        log.warning(
            "organization_keys_not_buried", organization_id=str(organization_id), error=repr(error)
        )
