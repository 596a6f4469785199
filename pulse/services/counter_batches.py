"""Counters kept in a Redis hash on the hot path, flushed into the event store in batches.

A flush first renames the pending hash to a batch key of its own (one atomic Redis
command, so no increment is lost or lands in two batches), records that batch, then
deletes it. A worker that dies mid-way leaves the batch key; the next flush finds it
and records it again, and the records made before the crash collide on ids derived
from the batch name instead of counting twice. Token minting and API metering both
count this way.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from pulse.logging import get_logger

log = get_logger(__name__)

RecordBatch = Callable[[str, dict[str, int]], int]
"""Records one batch (its name, count per field) in the store, synchronously; returns
how many records were new. Must be idempotent per batch name."""


@dataclass(frozen=True, slots=True)
class CounterBatches:
    """One family of counters: ``<prefix><name>:pending`` and its ``:batch:<id>`` keys."""

    name: str

    def pending_key(self, prefix: str) -> str:
        return f"{prefix}{self.name}:pending"

    def batch_key(self, prefix: str, batch: str) -> str:
        return f"{prefix}{self.name}:batch:{batch}"

    async def increment(self, redis: Redis, prefix: str, field: str, by: int = 1) -> bool:
        """Best effort: a lost count must never fail the request (Redis down is logged)."""
        try:
            # redis-py types its commands for both its sync and async clients.
            await cast(Awaitable[int], redis.hincrby(self.pending_key(prefix), field, by))
        except RedisError as error:
            log.warning("usage_not_counted", counter=self.name, field=field, error=repr(error))
            return False
        return True

    async def flush(self, redis: Redis, prefix: str, record: RecordBatch) -> int:
        """Record every pending and left-over batch; returns the records made."""
        with suppress(ResponseError):  # "no such key": nothing pending.
            await redis.rename(self.pending_key(prefix), self.batch_key(prefix, uuid.uuid4().hex))
        recorded = 0
        async for key in redis.scan_iter(match=self.batch_key(prefix, "*")):
            name = key.decode() if isinstance(key, bytes) else str(key)
            batch = name.rsplit(":", 1)[-1]
            raw = await cast(Awaitable[dict[bytes, bytes]], redis.hgetall(name))
            counts = {field.decode(): int(value) for field, value in raw.items()}
            recorded += await asyncio.to_thread(record, batch, counts)
            await redis.delete(name)
        return recorded
