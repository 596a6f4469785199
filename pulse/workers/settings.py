"""arq worker configuration, derived from Pulse's settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from arq.connections import RedisSettings
from arq.cron import CronJob, cron
from arq.typing import WorkerCoroutine
from arq.worker import Function, func

from pulse.config import Settings, get_settings
from pulse.projections.options import ProjectionSettings
from pulse.workers import audit_jobs, billing_jobs, metering_jobs, usage_limit_jobs
from pulse.workers.context import PROJECTION_SETTINGS_KEY, SETTINGS_KEY
from pulse.workers.jobs import ping, run_projections
from pulse.workers.lifecycle import shutdown, startup
from pulse.workers.reconciliation_jobs import reconcile_rooms, reconciliation_cron
from pulse.workers.region_jobs import check_regions, region_health_cron
from pulse.workers.usage_jobs import flush_token_counts
from pulse.workers.webhook_jobs import (
    deliver_webhook,
    fan_out_webhooks,
    sweep_due_deliveries,
    webhook_crons,
)

FUNCTIONS: Sequence[WorkerCoroutine | Function] = (
    ping,
    # No kept result: it would refuse the next wake-up with the same fixed job id
    # (see pulse.projections.wakeup) until it expired.
    func(run_projections, keep_result=0),
    func(flush_token_counts, keep_result=0),
    func(check_regions, keep_result=0),
    func(reconcile_rooms, keep_result=0),
    # No kept result: the sweeper must be able to enqueue a lost attempt's job id again.
    func(deliver_webhook, keep_result=0),
    func(fan_out_webhooks, keep_result=0),
    func(sweep_due_deliveries, keep_result=0),
    *metering_jobs.JOBS,
    *usage_limit_jobs.JOBS,
    *billing_jobs.JOBS,
    *audit_jobs.JOBS,
)
"""Every job a worker can run."""


def cron_jobs_for(settings: Settings, projection_settings: ProjectionSettings) -> list[CronJob]:
    """Periodic jobs: projections, counter flushes, region health, reconciliation.

    arq schedules by calendar second, so the interval is the seconds of a minute
    that are multiples of it (an interval that does not divide 60 has one shorter
    gap at the turn of the minute). ``unique`` makes one worker run each tick.
    """
    step = projection_settings.schedule_seconds
    return [
        cron(
            run_projections,
            # Job ids are global in Redis: name it after the queue, as wake-ups are.
            name=f"cron:{settings.worker_queue_name}:run_projections",
            second=set(range(0, 60, step)),
            run_at_startup=True,
            unique=True,
            keep_result=0,
        ),
        # Minted tokens are counted in Redis; once a minute they become events.
        cron(
            flush_token_counts,
            name=f"cron:{settings.worker_queue_name}:flush_token_counts",
            second={0},
            unique=True,
            keep_result=0,
        ),
        # LiveKit's health decides failover; reconciliation closes what webhooks missed.
        region_health_cron(settings),
        reconciliation_cron(settings),
        # Webhooks: the fan-out every second, the sweeper of due deliveries every 15 s.
        *webhook_crons(settings),
        # Usage, limits and alerts, invoices, audit-log retention.
        *metering_jobs.crons(settings),
        *usage_limit_jobs.crons(settings),
        *billing_jobs.crons(settings),
        *audit_jobs.crons(settings),
    ]


def redis_settings_for(settings: Settings) -> RedisSettings:
    return RedisSettings.from_dsn(settings.redis_url)


def worker_options(
    settings: Settings, projection_settings: ProjectionSettings | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``arq.worker.Worker`` (or ``run_worker``) under ``settings``."""
    projection_settings = projection_settings or ProjectionSettings()
    return {
        "functions": list(FUNCTIONS),
        "cron_jobs": cron_jobs_for(settings, projection_settings),
        "redis_settings": redis_settings_for(settings),
        "queue_name": settings.worker_queue_name,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "ctx": {SETTINGS_KEY: settings, PROJECTION_SETTINGS_KEY: projection_settings},
        "max_jobs": settings.worker_max_jobs,
        "job_timeout": settings.worker_job_timeout_seconds,
        # arq looks for queued jobs every poll_delay (0.5 s by default); projection
        # wake-ups are what keep lists fresh, so look more often.
        "poll_delay": settings.worker_poll_delay_seconds,
    }


class WorkerSettings:
    """For ``arq pulse.workers.settings.WorkerSettings``; ``pulse worker`` is preferred.

    arq reads class attributes, so the environment is read once, at import.
    """

    _settings = get_settings()
    _projection_settings = ProjectionSettings()
    functions: ClassVar[list[WorkerCoroutine | Function]] = list(FUNCTIONS)
    cron_jobs: ClassVar[list[CronJob]] = cron_jobs_for(_settings, _projection_settings)
    redis_settings = redis_settings_for(_settings)
    queue_name = _settings.worker_queue_name
    on_startup = startup
    on_shutdown = shutdown
    max_jobs = _settings.worker_max_jobs
    job_timeout = _settings.worker_job_timeout_seconds
