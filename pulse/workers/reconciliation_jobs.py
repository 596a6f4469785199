"""The reconciliation job: close rooms and sessions LiveKit no longer has, and bring
egresses and ingresses up to date with what LiveKit says of them.

Wiring (in ``pulse.workers.settings``): add ``reconcile_rooms`` to ``FUNCTIONS``
and ``reconciliation_cron(settings)`` to the cron jobs. The business logic is in
``pulse.services.reconciliation`` (rooms, sessions) and
``pulse.services.media_reconciliation`` (egresses, ingresses).
"""

from __future__ import annotations

import asyncio
from typing import cast

from arq.cron import CronJob, cron

from pulse.config import Settings
from pulse.projections.wakeup import wake_projections
from pulse.services.media_reconciliation import reconcile_media
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
    """One reconciliation pass of rooms and sessions, then one of egresses and
    ingresses; returns both reports' counts (and why either skipped anything)."""
    settings = settings_of(ctx)
    clients = clients_of(ctx)
    options = reconciliation_settings_of(ctx)
    # Building the application touches MongoDB: not on the event loop.
    app = await asyncio.to_thread(provider_of(ctx).get)
    prefix = settings.redis_key_prefix
    report = await reconcile(app, clients.database, clients.livekit, clients.redis, prefix, options)
    # One job, so one cron and one lock: the two passes never overlap with themselves.
    media = await reconcile_media(
        app, clients.database, clients.livekit, clients.redis, prefix, options
    )
    if report.rooms_closed or report.sessions_closed or media.changed:
        await wake_projections(clients)
    return {**report.as_dict(), **media.as_dict()}


def reconciliation_cron(
    settings: Settings, options: ReconciliationSettings | None = None
) -> CronJob:
    """``reconcile_rooms`` (rooms, sessions, egresses, ingresses) every ``interval_seconds``
    (60 by default).

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
