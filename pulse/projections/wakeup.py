"""Asking the workers to catch the projections up now, after a command committed.

Wake-ups coalesce: the job has a fixed id, and arq refuses a second job with the
id of one still queued or running (that run will see the new events: the runner
keeps reading until the log has nothing newer). The job keeps no result, because
a kept result would refuse every wake-up with that id until it expired. A wake-up
never fails the request: if it is lost, the worker's schedule catches up anyway.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pulse.clients import Clients
from pulse.logging import get_logger

log = get_logger(__name__)

RUN_PROJECTIONS = "run_projections"

# A queued wake-up that no worker picked up within this time is dropped by arq:
# by then the schedule has caught up, and a stale one would only block new ones.
WAKE_UP_EXPIRES = timedelta(seconds=60)

# A request waits at most this long for Redis to take the wake-up.
WAKE_UP_TIMEOUT_SECONDS = 1.0


def wake_up_job_id(queue_name: str) -> str:
    """The fixed id of the wake-up job; arq job ids are global, hence the queue name."""
    return f"{queue_name}:{RUN_PROJECTIONS}"


async def wake_projections(clients: Clients) -> None:
    """Enqueue ``run_projections`` unless one is already queued or running; never raises."""
    queue = clients.arq
    try:
        async with asyncio.timeout(WAKE_UP_TIMEOUT_SECONDS):
            await queue.enqueue_job(
                RUN_PROJECTIONS,
                _job_id=wake_up_job_id(queue.default_queue_name),
                _expires=WAKE_UP_EXPIRES,
            )
    except Exception:  # A wake-up is an optimisation; the schedule is the guarantee.
        log.warning("projection_wake_up_failed", exc_info=True)
