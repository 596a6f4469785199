"""The projection job on a real arq worker and Redis: wake-ups, coalescing, schedule."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.worker import Worker
from pymongo.database import Database

from pulse.clients import Clients, open_clients
from pulse.config import Settings
from pulse.projections.model import Document
from pulse.projections.options import ProjectionSettings
from pulse.projections.wakeup import wake_projections, wake_up_job_id
from pulse.services.application import PulseApplication
from pulse.workers.settings import cron_jobs_for, worker_options
from tests.projections.scenario import build_world, register

pytestmark = [
    pytest.mark.anyio,
    # arq 0.28 closes its pool with redis' deprecated close(); not ours to fix.
    pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning"),
]

OPTIONS = ProjectionSettings(_env_file=None, schedule_seconds=1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def clients(migrated: Settings) -> AsyncIterator[Clients]:
    async with open_clients(migrated, app_name="pulse-test") as opened:
        yield opened
        # Every arq key of this test names its queue (job ids included).
        name = migrated.worker_queue_name
        ours = [key async for key in opened.redis.scan_iter(match=f"*{name}*")]
        if ours:
            await opened.redis.delete(*ours)


def worker(settings: Settings, *, burst: bool = True, **overrides: Any) -> Worker:
    options = {**worker_options(settings, OPTIONS), **overrides}
    return Worker(**options, burst=burst, handle_signals=False)


async def run_burst(settings: Settings) -> Worker:
    """Run queued jobs (no schedule) until the queue is empty."""
    burst = worker(settings, cron_jobs=[])
    try:
        await burst.main()
    finally:
        await burst.close()
    return burst


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` (a read of the read model) until true, for 10 s at most."""
    deadline = time.monotonic() + 10
    for _ in itertools.count():
        if condition() or time.monotonic() > deadline:
            return
        await asyncio.sleep(0.1)


async def queued(clients: Clients) -> int:
    return int(await clients.redis.zcard(clients.arq.default_queue_name))


async def test_a_wake_up_runs_every_projection(
    migrated: Settings,
    clients: Clients,
    pulse_app: PulseApplication,
    database: Database[Document],
) -> None:
    build_world(pulse_app)

    await wake_projections(clients)
    ran = await run_burst(migrated)

    assert (ran.jobs_complete, ran.jobs_failed) == (1, 0)
    assert database["rm_users"].count_documents({}) == 3
    assert database["rm_api_keys"].count_documents({}) == 5
    assert await clients.database["rm_invitations"].count_documents({}) == 3


async def test_wake_ups_coalesce_and_leave_nothing_that_blocks_the_next(
    migrated: Settings,
    clients: Clients,
    pulse_app: PulseApplication,
    database: Database[Document],
) -> None:
    register(pulse_app, "a@example.test")

    for _ in range(5):
        await wake_projections(clients)
    assert await queued(clients) == 1
    first = await run_burst(migrated)

    assert first.jobs_complete == 1
    # No kept result under the fixed id: the next wake-up is accepted at once.
    job_id = wake_up_job_id(migrated.worker_queue_name)
    assert await clients.redis.exists(f"arq:result:{job_id}", f"arq:job:{job_id}") == 0
    register(pulse_app, "b@example.test")
    await wake_projections(clients)
    assert await queued(clients) == 1
    second = await run_burst(migrated)

    assert second.jobs_complete == 1
    assert database["rm_users"].count_documents({}) == 2


async def test_a_failed_wake_up_is_logged_not_raised(
    clients: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = ArqRedis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    broken = dataclasses.replace(clients, arq=nowhere)
    try:
        await wake_projections(broken)
    finally:
        await nowhere.aclose()

    assert "projection_wake_up_failed" in capsys.readouterr().out


async def test_the_schedule_catches_up_without_any_wake_up(
    migrated: Settings,
    clients: Clients,
    pulse_app: PulseApplication,
    database: Database[Document],
) -> None:
    register(pulse_app, "a@example.test")
    running = worker(migrated, burst=False)
    task = asyncio.create_task(running.main())
    try:
        await until(lambda: database["rm_users"].count_documents({}) == 1)
        register(pulse_app, "b@example.test")  # Committed while the worker runs.
        await until(lambda: database["rm_users"].count_documents({}) == 2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        # Let a scheduled run in flight finish: close() cancels running jobs, and
        # arq's close then re-raises that cancellation into the test.
        await asyncio.gather(*running.tasks.values(), return_exceptions=True)
        await running.close()

    assert database["rm_users"].count_documents({}) == 2
    assert running.jobs_failed == 0


def test_the_schedule_follows_the_settings(make_settings: Any) -> None:
    settings = make_settings()

    jobs = cron_jobs_for(settings, ProjectionSettings(_env_file=None, schedule_seconds=5))
    (job,) = [job for job in jobs if job.coroutine.__name__ == "run_projections"]

    assert job.second == set(range(0, 60, 5))
    assert job.keep_result_s == 0
    assert job.unique
    assert settings.worker_queue_name in job.name
    (default,) = [
        job
        for job in cron_jobs_for(settings, ProjectionSettings(_env_file=None))
        if job.coroutine.__name__ == "run_projections"
    ]
    assert default.second == set(range(0, 60, 2))
