"""The daily billing job: last month's invoices drafted, drafts past their grace finalized.

Runs at 00:10 UTC (after the turn of the day, so the usage projection has had time
to fold in the last hour of a month that just ended); the work is
``pulse.services.billing_cycle.run_cycle``, idempotent, so a repeated run changes
nothing.
"""

from __future__ import annotations

from arq.cron import CronJob, cron
from arq.typing import WorkerCoroutine
from arq.worker import Function, func

from pulse.config import Settings
from pulse.logging import get_logger
from pulse.projections.wakeup import wake_projections
from pulse.services.billing_cycle import run_cycle
from pulse.services.clock import utc_now
from pulse.workers.blocking import run_blocking
from pulse.workers.context import JobContext, clients_of, provider_of, settings_of

log = get_logger(__name__)

RUN_AT_HOUR = 0
RUN_AT_MINUTE = 10


async def run_billing_cycle(ctx: JobContext) -> dict[str, int | str]:
    settings = settings_of(ctx)
    provider = provider_of(ctx)
    now = utc_now()

    def work() -> dict[str, int | str]:
        return run_cycle(provider.get(), now, settings.billing_finalize_after_hours).as_dict()

    report = await run_blocking(ctx, work)
    log.info("billing_cycle_ran", **report)
    if report["generated"] or report["finalized"]:
        await wake_projections(clients_of(ctx))
    return report


JOBS: tuple[WorkerCoroutine | Function, ...] = (func(run_billing_cycle, keep_result=0),)


def crons(settings: Settings) -> list[CronJob]:
    return [
        cron(
            run_billing_cycle,
            # Job ids are global in Redis: name it after the queue, as wake-ups are.
            name=f"cron:{settings.worker_queue_name}:run_billing_cycle",
            hour={RUN_AT_HOUR},
            minute={RUN_AT_MINUTE},
            second={0},
            unique=True,
            keep_result=0,
        )
    ]
