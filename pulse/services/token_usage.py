"""Tokens minted by a project, counted in Redis and flushed into the event store.

Each mint adds one to its project's counter; the worker records the counts as one
``TokenUsage.Counted`` event per project per flushed batch. Batching, and why a crash
mid-flush counts nothing twice, is pulse.services.counter_batches.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import IntegrityError
from redis.asyncio import Redis

from pulse.domain.context import CommandContext
from pulse.domain.token_usage import TokenUsage
from pulse.services.application import PulseApplication
from pulse.services.clock import utc_now
from pulse.services.counter_batches import CounterBatches

FLUSH_CONTEXT = CommandContext.system("token-usage-flush")
MINTED_TOKENS = CounterBatches("usage:tokens")


async def count_minted_token(redis: Redis, prefix: str, project_id: UUID) -> None:
    """Best effort: a lost count must not refuse a token (Redis down is logged)."""
    await MINTED_TOKENS.increment(redis, prefix, str(project_id))


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
    return await MINTED_TOKENS.flush(
        redis,
        prefix,
        lambda batch, counts: record_batch(
            app, batch, {UUID(project): count for project, count in counts.items()}
        ),
    )
