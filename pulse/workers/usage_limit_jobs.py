"""Checking plan limits: every minute, each project with usage this period.

The check reads the usage read model as the projections left it (they run every few
seconds), so an alert follows the usage that crosses a threshold by about a minute.
Alerts it raises wake the projections, which makes the fan-out send them.
"""

from __future__ import annotations

from arq.cron import CronJob, cron
from arq.typing import WorkerCoroutine
from arq.worker import Function, func

from pulse.config import Settings
from pulse.projections.store import read_model_database
from pulse.projections.wakeup import wake_projections
from pulse.services.clock import utc_now
from pulse.services.usage_limits import check_all
from pulse.workers.blocking import run_blocking
from pulse.workers.context import JobContext, clients_of, provider_of


async def check_usage_limits(ctx: JobContext) -> int:
    """Raise the usage alerts due; returns how many were raised."""
    provider = provider_of(ctx)
    now = utc_now()

    def run() -> int:
        app = provider.get()
        return check_all(app, read_model_database(app), now)

    raised = await run_blocking(ctx, run)
    if raised:
        await wake_projections(clients_of(ctx))
    return raised


JOBS: tuple[WorkerCoroutine | Function, ...] = (func(check_usage_limits, keep_result=0),)


def crons(settings: Settings) -> list[CronJob]:
    return [
        cron(
            check_usage_limits,
            # Job ids are global in Redis: name it after the queue, as wake-ups are.
            name=f"cron:{settings.worker_queue_name}:check_usage_limits",
            second={30},  # Half a minute off the token-count flush at second 0.
            unique=True,
            keep_result=0,
        )
    ]
