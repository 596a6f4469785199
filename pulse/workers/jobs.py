"""Job functions. Each takes arq's context dict first; business logic lives elsewhere."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from pulse.logging import get_logger
from pulse.projections.runner import catch_up_all
from pulse.projections.store import read_model_database
from pulse.workers.blocking import run_blocking
from pulse.workers.context import (
    JobContext,
    projection_settings_of,
    provider_of,
    settings_of,
)

log = get_logger(__name__)

# Bounds one job under a steady stream of commits; the schedule takes over after.
_MAX_PASSES = 20


async def ping(ctx: JobContext) -> str:
    """Prove a worker is consuming the queue: returns the time it ran, ISO 8601 UTC."""
    return datetime.now(UTC).isoformat()


async def run_projections(ctx: JobContext) -> dict[str, int]:
    """Catch every projection up; returns the events each one applied.

    Enqueued by ``wake_projections`` after commands and run on the worker's schedule.
    The event store and the read models use PyMongo's synchronous API, so the work
    runs in a thread; a projection busy in another worker is skipped at once.
    """
    provider = provider_of(ctx)
    settings = settings_of(ctx)
    options = projection_settings_of(ctx)

    stop = threading.Event()

    def run() -> dict[str, int]:
        app = provider.get()
        applied: dict[str, int] = {}
        # Wake-ups coalesce into one queued job, and one arriving while this job runs
        # is refused: events committed after a projection's turn in this pass would
        # wait for the schedule. So pass again until a whole pass finds nothing new.
        for _ in range(_MAX_PASSES):
            if stop.is_set():
                break
            database = read_model_database(app)
            results = catch_up_all(app, database, settings, options, stop=stop)
            for result in results:
                applied[result.name] = applied.get(result.name, 0) + result.applied
            if not any(result.applied for result in results):
                break
        return applied

    return await run_blocking(ctx, run, stop=stop)
