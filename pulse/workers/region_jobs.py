"""The region health job: check every region's LiveKit, record what failover reads.

Wired in ``pulse/workers/settings.py``: ``check_regions`` is one of ``FUNCTIONS`` and
``region_health_cron(settings)`` one of ``cron_jobs_for``'s jobs.
"""

from __future__ import annotations

from arq.cron import CronJob, cron

from pulse.config import Settings
from pulse.livekit.health import DEFAULT_TIMEOUT_SECONDS
from pulse.livekit.health_round import run_round
from pulse.logging import get_logger
from pulse.workers.context import JobContext, clients_of, settings_of

log = get_logger(__name__)


def check_timeout(settings: Settings) -> float:
    """A round must end before the next one starts."""
    return min(DEFAULT_TIMEOUT_SECONDS, float(settings.region_health_interval_seconds))


async def check_regions(ctx: JobContext) -> dict[str, bool]:
    """Check every region concurrently and record the round; returns each one's health."""
    settings = settings_of(ctx)
    clients = clients_of(ctx)
    checks = await run_round(
        clients.livekit,
        clients.livekit_http,
        clients.redis,
        settings.redis_key_prefix,
        settings.region_health_interval_seconds,
        check_timeout(settings),
    )
    for code, check in checks.items():
        if not check.healthy:
            log.warning(
                "region_unhealthy", region=code, error=check.error, failed_over=check.failed_over
            )
    return {code: check.healthy for code, check in checks.items()}


def region_health_cron(settings: Settings) -> CronJob:
    """``check_regions`` every ``region_health_interval_seconds``, and once at start-up.

    arq schedules by calendar time: an interval under a minute runs on the seconds
    that are its multiples, a longer one on the minutes that are multiples of it in
    whole minutes (rounded down; at most hourly). ``unique`` makes one worker run
    each tick.
    """
    interval = settings.region_health_interval_seconds
    minute: set[int] | None = None
    if interval < 60:
        second = set(range(0, 60, interval))
    else:
        second, minute = {0}, set(range(0, 60, min(interval // 60, 60)))
    return cron(
        check_regions,
        # Job ids are global in Redis: name it after the queue, as the projections' is.
        name=f"cron:{settings.worker_queue_name}:check_regions",
        second=second,
        minute=minute,
        run_at_startup=True,
        unique=True,
        keep_result=0,
    )
