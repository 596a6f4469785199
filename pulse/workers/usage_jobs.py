"""Flushing the minted-token counters into the event store."""

from __future__ import annotations

from pulse.services.token_usage import flush_token_usage
from pulse.workers.context import JobContext, clients_of, provider_of, settings_of


async def flush_token_counts(ctx: JobContext) -> int:
    """Record the pending counts; returns how many projects' counts were recorded."""
    settings = settings_of(ctx)
    return await flush_token_usage(
        clients_of(ctx).redis, settings.redis_key_prefix, provider_of(ctx).get()
    )
