"""arq worker configuration, derived from Pulse's settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.typing import WorkerCoroutine
from arq.worker import Function

from pulse.config import Settings, get_settings
from pulse.workers.context import SETTINGS_KEY
from pulse.workers.jobs import ping
from pulse.workers.lifecycle import shutdown, startup

FUNCTIONS: Sequence[WorkerCoroutine | Function] = (ping,)
"""Every job a worker can run; projection jobs will be added here."""

CRON_JOBS: Sequence[CronJob] = ()
"""Periodic jobs; none yet."""


def redis_settings_for(settings: Settings) -> RedisSettings:
    return RedisSettings.from_dsn(settings.redis_url)


def worker_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``arq.worker.Worker`` (or ``run_worker``) under ``settings``."""
    return {
        "functions": list(FUNCTIONS),
        "cron_jobs": list(CRON_JOBS),
        "redis_settings": redis_settings_for(settings),
        "queue_name": settings.worker_queue_name,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "ctx": {SETTINGS_KEY: settings},
        "max_jobs": settings.worker_max_jobs,
        "job_timeout": settings.worker_job_timeout_seconds,
    }


class WorkerSettings:
    """For ``arq pulse.workers.settings.WorkerSettings``; ``pulse worker`` is preferred.

    arq reads class attributes, so the environment is read once, at import.
    """

    _settings = get_settings()
    functions: ClassVar[list[WorkerCoroutine | Function]] = list(FUNCTIONS)
    cron_jobs: ClassVar[list[CronJob]] = list(CRON_JOBS)
    redis_settings = redis_settings_for(_settings)
    queue_name = _settings.worker_queue_name
    on_startup = startup
    on_shutdown = shutdown
    max_jobs = _settings.worker_max_jobs
    job_timeout = _settings.worker_job_timeout_seconds
