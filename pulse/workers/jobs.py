"""Job functions. Each takes arq's context dict first; business logic lives elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime

from pulse.workers.context import JobContext


async def ping(ctx: JobContext) -> str:
    """Prove a worker is consuming the queue: returns the time it ran, ISO 8601 UTC."""
    return datetime.now(UTC).isoformat()
