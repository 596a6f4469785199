"""The reconciliation job: close rooms and sessions LiveKit no longer has.

Wiring (in ``pulse.workers.settings``): add ``reconcile_rooms`` to ``FUNCTIONS``
and ``reconciliation_cron(settings)`` to the cron jobs. The business logic is in
``pulse.services.reconciliation``.
"""

from __future__ import annotations

import asyncio
from typing import cast

from arq.cron import CronJob, cron

from pulse.config import Settings
from pulse.projections.wakeup import wake_projections
from pulse.services.reconciliation import ReconciliationSettings, reconcile
from pulse.workers.context import JobContext, clients_of, provider_of, settings_of

RECONCILIATION_SETTINGS_KEY = "reconciliation_settings"


def reconciliation_settings_of(ctx: JobContext) -> ReconciliationSettings:
    """The worker's reconciliation settings: from ctx if given (tests), else the env."""
    found = ctx.get(RECONCILIATION_SETTINGS_KEY)
    if found is None:
        found = ctx[RECONCILIATION_SETTINGS_KEY] = ReconciliationSettings()
    return cast(ReconciliationSettings, found)


async def reconcile_rooms(ctx: JobContext) -> dict[str, int | str | None]:
    """One reconciliation pass; returns its report (counts, or why it was skipped)."""
    settings = settings_of(ctx)
    clients = clients_of(ctx)
    # Building the application touches MongoDB: not on the event loop.
    app = await asyncio.to_thread(provider_of(ctx).get)
    report = await reconcile(
        app,
        clients.database,
        clients.livekit,
        clients.redis,
        settings.redis_key_prefix,
        reconciliation_settings_of(ctx),
    )
    if report.rooms_closed or report.sessions_closed:
        await wake_projections(clients)
    return report.as_dict()


def reconciliation_cron(
    settings: Settings, options: ReconciliationSettings | None = None
) -> CronJob:
    """``reconcile_rooms`` every ``interval_seconds`` (60 by default).

    arq schedules by calendar time: an interval under a minute runs on the seconds
    that are multiples of it, a longer one on the minutes that are multiples of its
    minutes (rounded down, at least one). ``unique`` makes one worker run each tick.
    """
    step = (options or ReconciliationSettings()).interval_seconds
    timing: dict[str, set[int]]
    if step < 60:
        timing = {"second": set(range(0, 60, step))}
    else:
        timing = {"minute": set(range(0, 60, max(1, step // 60))), "second": {0}}
    return cron(
        reconcile_rooms,
        # Job ids are global in Redis: name it after the queue, as wake-ups are.
        name=f"cron:{settings.worker_queue_name}:reconcile_rooms",
        unique=True,
        keep_result=0,
        **timing,  # type: ignore[arg-type]
    )
