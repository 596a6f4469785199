"""Deliveries through real workers: arq jobs chaining retries, and a worker killed
in the middle of a batch."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from arq import create_pool
from arq.connections import ArqRedis
from arq.worker import Worker
from pymongo.database import Database
from redis import Redis
from standardwebhooks.webhooks import Webhook

from pulse.config import Settings
from pulse.outbound.resolver import StaticResolver
from pulse.projections.collections import WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES
from pulse.projections.model import Document
from pulse.projections.runner import catch_up_all
from pulse.projections.store import read_model_database
from pulse.services.application import PulseApplication
from pulse.services.deliveries.fanout import new_delivery
from pulse.services.webhook_catalog import customer_events_of, loader_of
from pulse.workers.settings import redis_settings_for, worker_options
from pulse.workers.webhook_jobs import INNER_TRANSPORT_KEY, RESOLVER_KEY
from tests.conftest import SettingsFactory
from tests.projections.fixtures import migrated, pulse_app
from tests.webhooks_out.receivers import (
    SETUP,
    LoopbackOnly,
    new_endpoint,
    new_project,
    receiving,
    rename,
)

__all__ = ["migrated", "pulse_app"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings(
        webhook_allow_loopback=True,
        webhook_retry_schedule_seconds=[0, 0, 0],
        webhook_retry_jitter=0,
        webhook_timeout_seconds=3.0,
        log_level="WARNING",
    )


@pytest.fixture
async def queue(settings: Settings) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(
        redis_settings_for(settings), default_queue_name=settings.worker_queue_name
    )
    yield pool
    ours = [key async for key in pool.scan_iter(match=f"*{settings.worker_queue_name}*")]
    if ours:
        await pool.delete(*ours)
    await pool.aclose()


def deliveries(database: Database[Document]) -> list[Document]:
    return list(database[WEBHOOK_DELIVERIES].find({}))


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")
async def test_arq_jobs_retry_until_the_receiver_answers(
    pulse_app: PulseApplication, settings: Settings, queue: ArqRedis
) -> None:
    project = new_project(pulse_app)
    with receiving(codes=[500, 502]) as receiver:
        _, secret = new_endpoint(pulse_app, settings, project.id, receiver.url)
        rename(pulse_app, project.id)
        await queue.enqueue_job("fan_out_webhooks", _job_id=f"{settings.worker_queue_name}:f")
        options = {**worker_options(settings), "cron_jobs": []}
        options["ctx"] = {
            **options["ctx"],
            RESOLVER_KEY: StaticResolver(),
            INNER_TRANSPORT_KEY: LoopbackOnly,
        }
        worker = Worker(**options, burst=True, handle_signals=False)
        try:
            await worker.main()
        finally:
            await worker.close()

        received = receiver.wait_for(3)
    assert [r.headers["webhook-id"] for r in received] == [received[0].headers["webhook-id"]] * 3
    for request in received:
        Webhook(secret).verify(request.body, request.headers)
    [document] = deliveries(read_model_database(pulse_app))
    assert (document["status"], document["total_attempts"]) == ("succeeded", 3)
    assert document["message_id"] == received[0].headers["webhook-id"]


# -- a worker killed mid-batch ---------------------------------------------------------


def pulse_command() -> list[str]:
    script = shutil.which("pulse", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "pulse.cli"]


def worker_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PULSE_ENVIRONMENT": "test",
        "PULSE_MONGO_URI": settings.mongo_uri,
        "PULSE_MONGO_DATABASE": settings.mongo_database,
        "PULSE_REDIS_URL": settings.redis_url,
        "PULSE_LIVEKIT_URL": settings.livekit_url,
        "PULSE_WORKER_QUEUE_NAME": settings.worker_queue_name,
        "PULSE_REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "PULSE_STORAGE_SECRETS_KEY": settings.storage_secrets_key.get_secret_value(),
        "PULSE_WEBHOOK_ALLOW_LOOPBACK": "true",
        "PULSE_WEBHOOK_TIMEOUT_SECONDS": "3",
        "PULSE_WEBHOOK_RETRY_SCHEDULE_SECONDS": "1,1,1,1,1",
        "PULSE_WEBHOOK_RETRY_JITTER": "0",
        "PULSE_LOG_FORMAT": "json",
        "PULSE_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def workers(settings: Settings) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Worker processes a test starts; stopped (or killed) after, their queue's keys removed."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    redis = Redis.from_url(settings.redis_url)
    for key in redis.scan_iter(match=f"*{settings.worker_queue_name}*"):
        redis.delete(key)
    redis.close()


def start_worker(settings: Settings, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    with (tmp_path / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [*pulse_command(), "worker"],
            env=worker_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_until(check: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {within} s: {what}")


def test_killing_the_worker_mid_batch_loses_no_delivery_and_repeats_only_as_retries(
    pulse_app: PulseApplication,
    settings: Settings,
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    batch = 12
    database = read_model_database(pulse_app)
    project = new_project(pulse_app)
    with receiving(delay=1.0) as receiver:
        _, secret = new_endpoint(pulse_app, settings, project.id, receiver.url)
        for n in range(batch):
            rename(pulse_app, project.id, f"name-{n}-{uuid.uuid4().hex[:4]}")

        first = start_worker(settings, tmp_path, "first")
        workers.append(first)
        wait_until(lambda: len(receiver.received) >= 3, 90, "the first worker sends")
        first.send_signal(signal.SIGKILL)  # In the middle of the batch: requests in flight.
        first.wait(timeout=10)
        at_kill = len({r.headers["webhook-id"] for r in receiver.received})
        assert at_kill < batch

        workers.append(start_worker(settings, tmp_path, "second"))

        def all_delivered() -> bool:
            found = deliveries(database)
            return len(found) == batch and all(d["status"] == "succeeded" for d in found)

        wait_until(all_delivered, 120, f"{batch} deliveries succeeded")
        received = list(receiver.received)

    ids = Counter(r.headers["webhook-id"] for r in received)
    assert len(ids) == batch  # None lost.
    stored = {d["message_id"]: d for d in deliveries(database)}
    assert set(ids) == set(stored)
    for request in received:
        Webhook(secret).verify(request.body, request.headers)
    for message_id, count in ids.items():
        bodies = {r.body for r in received if r.headers["webhook-id"] == message_id}
        assert len(bodies) == 1  # A repeat is the same message...
        delivery = stored[message_id]
        # ...sent by a later attempt: each receipt is an attempt of its own.
        assert delivery["total_attempts"] >= count
        if count > 1:
            attempts = list(database[WEBHOOK_ATTEMPTS].find({"delivery_id": delivery["_id"]}))
            assert any(a["outcome"] == "failed" for a in attempts)


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")
async def test_the_sweeper_enqueues_a_delivery_whose_job_was_lost(
    pulse_app: PulseApplication, settings: Settings, queue: ArqRedis
) -> None:
    project = new_project(pulse_app)
    with receiving() as receiver:
        endpoint, secret = new_endpoint(pulse_app, settings, project.id, receiver.url)
        rename(pulse_app, project.id)
        [event] = customer_events_of(
            pulse_app.mapper.to_domain_event(pulse_app.recorder.select_notifications(1, 10)[-1]),
            loader_of(pulse_app),
        )
        # Created a minute ago, and its job never made it to Redis.
        a_minute_ago = datetime.now(UTC) - timedelta(minutes=1)
        lost = new_delivery(event, endpoint.id, project.id, a_minute_ago, SETUP)
        pulse_app.save(lost)
        catch_up_all(pulse_app, read_model_database(pulse_app), settings)
        options = {**worker_options(settings), "cron_jobs": []}
        options["ctx"] = {
            **options["ctx"],
            RESOLVER_KEY: StaticResolver(),
            INNER_TRANSPORT_KEY: LoopbackOnly,
        }
        await queue.enqueue_job("sweep_due_deliveries", _job_id=f"{settings.worker_queue_name}:s")
        worker = Worker(**options, burst=True, handle_signals=False)
        try:
            await worker.main()
        finally:
            await worker.close()

        [request] = receiver.wait_for(1)
    assert request.headers["webhook-id"] == lost.message_id
    Webhook(secret).verify(request.body, request.headers)
    [document] = deliveries(read_model_database(pulse_app))
    assert document["status"] == "succeeded"
