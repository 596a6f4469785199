"""Counting minted tokens in Redis, and flushing the counts into the event store.

A flush first renames the pending counts to a batch key of its own (one atomic
Redis command, so no increment is lost or counted in two batches), records that
batch, then deletes it. A worker that dies mid-way leaves the batch key; the next
flush finds it and records it, and records made before the crash collide on their
deterministic ids instead of counting twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from contextlib import suppress
from typing import cast
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from pulse.domain.context import CommandContext
from pulse.domain.token_usage import TokenUsage
from pulse.logging import get_logger
from pulse.services.application import PulseApplication
from pulse.services.clock import utc_now

log = get_logger(__name__)

FLUSH_CONTEXT = CommandContext.system("token-usage-flush")


def _pending(prefix: str) -> str:
    return f"{prefix}usage:tokens:pending"


def _batch(prefix: str, batch: str) -> str:
    return f"{prefix}usage:tokens:batch:{batch}"


async def count_minted_token(redis: Redis, prefix: str, project_id: UUID) -> None:
    """Best effort: a lost count must not refuse a token (Redis down is logged)."""
    try:
        # redis-py types its commands for both its sync and async clients.
        await cast(Awaitable[int], redis.hincrby(_pending(prefix), str(project_id), 1))
    except RedisError as error:
        log.warning("token_usage_not_counted", project_id=str(project_id), error=repr(error))


def record_batch(app: PulseApplication, batch: str, counts: dict[UUID, int]) -> int:
    """Record one batch; returns how many projects' counts were new."""
    recorded, now = 0, utc_now()
    for project_id, count in counts.items():
        usage = TokenUsage(
            project_id=project_id, batch=batch, count=count, flushed_at=now, context=FLUSH_CONTEXT
        )
        try:
            app.save(usage)
        except IntegrityError:
            continue  # Recorded by an earlier, interrupted flush of this batch.
        recorded += 1
    return recorded


async def flush_token_usage(redis: Redis, prefix: str, app: PulseApplication) -> int:
    """Record every pending and left-over batch; returns the projects recorded."""
    with suppress(ResponseError):  # "no such key": nothing pending.
        await redis.rename(_pending(prefix), _batch(prefix, uuid.uuid4().hex))
    recorded = 0
    async for key in redis.scan_iter(match=_batch(prefix, "*")):
        name = key.decode() if isinstance(key, bytes) else str(key)
        batch = name.rsplit(":", 1)[-1]
        raw = await cast(Awaitable[dict[bytes, bytes]], redis.hgetall(name))
        counts = {UUID(k.decode()): int(v) for k, v in raw.items()}
        recorded += await asyncio.to_thread(record_batch, app, batch, counts)
        await redis.delete(name)
    return recorded
