"""The arq worker, run in burst mode against the real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq import create_pool
from arq.connections import ArqRedis
from arq.worker import Worker

from pulse.clients import Clients
from pulse.config import Settings
from pulse.workers.context import clients_of, settings_of
from pulse.workers.lifecycle import shutdown, startup
from pulse.workers.settings import WorkerSettings, redis_settings_for, worker_options

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def queue(settings: Settings) -> AsyncIterator[ArqRedis]:
    """An arq pool on this test's own queue; every key it leaves is removed after."""
    pool = await create_pool(
        redis_settings_for(settings), default_queue_name=settings.worker_queue_name
    )
    yield pool
    # Job ids start with the queue name (see job_id), so this finds only our keys.
    name = settings.worker_queue_name
    ours = [key async for key in pool.scan_iter(match=f"*{name}*")]
    if ours:
        await pool.delete(*ours)
    await pool.aclose()


def job_id(settings: Settings) -> str:
    return f"{settings.worker_queue_name}:{uuid.uuid4().hex}"


def burst_worker(settings: Settings, **overrides: Any) -> Worker:
    # Without the schedule, whose start-up run would count among the jobs.
    options = {**worker_options(settings), "cron_jobs": [], **overrides}
    return Worker(**options, burst=True, handle_signals=False)


# arq 0.28 closes its pool with redis' deprecated close(); not ours to fix.
@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")
async def test_ping_job_runs_and_returns_a_utc_timestamp(
    settings: Settings, queue: ArqRedis
) -> None:
    job = await queue.enqueue_job("ping", _job_id=job_id(settings))
    assert job is not None
    worker = burst_worker(settings)
    try:
        await worker.main()
    finally:
        await worker.close()

    result = await job.result(timeout=5)
    ran_at = datetime.fromisoformat(result)
    assert ran_at.tzinfo is not None
    assert ran_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - ran_at) < timedelta(minutes=1)
    assert worker.jobs_complete == 1
    assert worker.jobs_failed == 0


async def test_startup_opens_working_clients_and_shutdown_closes_them(
    settings: Settings,
) -> None:
    ctx: dict[str, Any] = {"settings": settings}

    await startup(ctx)
    try:
        clients = clients_of(ctx)
        assert isinstance(clients, Clients)
        assert settings_of(ctx) is settings
        assert await clients.redis.ping()
        assert (await clients.mongo.admin.command("ping"))["ok"] == 1
        assert (await clients.livekit_http.get("/")).text.strip() == "OK"
        assert clients.database.name == settings.mongo_database
    finally:
        await shutdown(ctx)

    assert "clients" not in ctx
    assert clients.livekit_http.is_closed


def test_worker_settings_class_is_usable_by_arq() -> None:
    from arq.worker import get_kwargs

    kwargs = get_kwargs(WorkerSettings)

    assert {"functions", "redis_settings", "queue_name", "on_startup", "on_shutdown"} <= set(kwargs)
    names = [getattr(f, "name", getattr(f, "__name__", None)) for f in WorkerSettings.functions]
    assert names == [
        "ping",
        "run_projections",
        "flush_token_counts",
        "check_regions",
        "reconcile_rooms",
        "deliver_webhook",
        "fan_out_webhooks",
        "sweep_due_deliveries",
        "flush_api_counts",
        "check_usage_limits",
        "run_billing_cycle",
        "prune_audit_log",
    ]
    crons = [job.coroutine.__name__ for job in WorkerSettings.cron_jobs]
    assert crons == [*names[1:5], *names[6:]]


def test_redis_settings_follow_the_redis_url(make_settings: Any) -> None:
    settings = make_settings(redis_url="redis://:pw@10.1.2.3:6380/4")

    redis = redis_settings_for(settings)

    assert (redis.host, redis.port, redis.database, redis.password) == ("10.1.2.3", 6380, 4, "pw")
