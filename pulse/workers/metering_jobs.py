"""Metering jobs: the API request counters become ``ApiUsage`` events once a minute."""

from __future__ import annotations

from arq.cron import CronJob, cron
from arq.typing import WorkerCoroutine
from arq.worker import Function, func

from pulse.config import Settings
from pulse.services.api_usage import flush_api_usage
from pulse.workers.context import JobContext, clients_of, provider_of, settings_of


async def flush_api_counts(ctx: JobContext) -> int:
    """Record the pending API request counts; returns the ``Counted`` events recorded."""
    settings = settings_of(ctx)
    return await flush_api_usage(
        clients_of(ctx).redis, settings.redis_key_prefix, provider_of(ctx).get()
    )


JOBS: tuple[WorkerCoroutine | Function, ...] = (func(flush_api_counts, keep_result=0),)


def crons(settings: Settings) -> list[CronJob]:
    return [
        # Requests are counted in Redis; once a minute they become events. At second 30,
        # half a minute away from the token flush, so the two never save together.
        cron(
            flush_api_counts,
            name=f"cron:{settings.worker_queue_name}:flush_api_counts",
            second={30},
            unique=True,
            keep_result=0,
        ),
    ]
