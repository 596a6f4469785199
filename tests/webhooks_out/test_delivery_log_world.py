"""The delivery-log tests' world (no tests here): a tenant world over HTTP whose
settings allow loopback receivers, a receiver with a long answer, and a real arq
worker (burst mode, its own queue) that fans out and sends.

The worker's delivery client dials through the SSRF guard over ``LoopbackOnly``
(W2's test dialer), so no packet leaves 127.0.0.1 even if the guard broke.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from arq import create_pool
from arq.worker import Worker
from fastapi.testclient import TestClient
from pymongo import MongoClient
from redis import Redis

from pulse.api.app import create_app
from pulse.config import Settings
from pulse.migrator import Migrator
from pulse.outbound.resolver import StaticResolver
from pulse.workers.settings import redis_settings_for, worker_options
from pulse.workers.webhook_jobs import INNER_TRANSPORT_KEY, RESOLVER_KEY
from tests.conftest import MONGO_URI, REDIS_URL
from tests.management.conftest import management_settings
from tests.management.world import World, build_world
from tests.webhooks_out.receivers import LoopbackOnly

BODY_LIMIT = 64
"""``webhook_response_body_max_bytes`` here: receivers answer more, to show truncation."""


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1: answers the next of ``codes`` (then ``default``)
    with a body longer than ``BODY_LIMIT``, and records each request's headers/body."""

    codes: Sequence[int] = ()
    default: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._lock:
                    n = len(receiver.received)
                    receiver.received.append(
                        ({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                code = receiver.codes[n] if n < len(receiver.codes) else receiver.default
                answer = (f"answer {n} with {code}: " + "x" * 200).encode()
                self.send_response(code)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    @property
    def message_ids(self) -> list[str]:
        return [headers["webhook-id"] for headers, _ in self.received]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def delivery_settings(database: str) -> Settings:
    return management_settings(
        database,
        webhook_allow_loopback=True,
        webhook_retry_schedule_seconds=[],  # One attempt: a failure is final at once.
        webhook_retry_jitter=0,
        webhook_timeout_seconds=2.0,
        webhook_response_body_max_bytes=BODY_LIMIT,
    )


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """A tenant world (tests/management/world.py) on its own database, prefix and queue."""
    database = f"pulse_test_{uuid.uuid4().hex[:12]}"
    settings = delivery_settings(database)
    mongo_client: MongoClient[dict[str, Any]] = MongoClient(
        MONGO_URI, serverSelectionTimeoutMS=5_000
    )
    with mongo_client as mongo:
        Migrator(mongo[database], settings).migrate()
        try:
            app = create_app(settings)
            # Endpoint URLs are vetted without DNS: literals only.
            app.state.webhook_resolver = StaticResolver()
            with TestClient(app) as client:
                yield build_world(client, settings)
        finally:
            mongo.drop_database(database)
            redis = Redis.from_url(REDIS_URL)
            for key in redis.scan_iter(match=f"{settings.redis_key_prefix}*"):
                redis.delete(key)
            for key in redis.scan_iter(match=f"*{settings.worker_queue_name}*"):
                redis.delete(key)
            redis.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    try:
        yield made
    finally:
        made.close()


# -- driving it --------------------------------------------------------------------


def run_worker(world: World, *jobs: str) -> None:
    """Enqueue ``jobs`` (e.g. the fan-out) and run a burst worker until its queue is
    empty: what ``pulse worker`` does, with the loopback-only dialer."""

    async def burst() -> None:
        options = {**worker_options(world.settings), "cron_jobs": [], "poll_delay": 0.05}
        options["ctx"] = {
            **options["ctx"],
            RESOLVER_KEY: StaticResolver(),
            INNER_TRANSPORT_KEY: LoopbackOnly,
        }
        if jobs:
            pool = await create_pool(
                redis_settings_for(world.settings),
                default_queue_name=world.settings.worker_queue_name,
            )
            try:
                for job in jobs:
                    await pool.enqueue_job(job)
            finally:
                await pool.aclose()
        worker = Worker(**options, burst=True, handle_signals=False)
        try:
            await worker.main()
        finally:
            await worker.close()

    asyncio.run(burst())
    world.settle()


def deliver(world: World) -> None:
    """Fan out every new customer event and send what is due."""
    run_worker(world, "fan_out_webhooks")


def create_endpoint(
    world: World,
    project_id: uuid.UUID,
    url: str,
    event_types: list[str] | None = None,
    who: str = "owner",
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url}
    if event_types is not None:
        body["event_types"] = event_types
    response = world.client.post(
        f"/v1/projects/{project_id}/webhooks/endpoints", json=body, headers=world.headers(who)
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def rename(world: World, project_id: uuid.UUID, name: str, who: str = "owner") -> None:
    """A customer event (``project.updated``), through the API."""
    response = world.client.put(
        f"/v1/projects/{project_id}", json={"name": name}, headers=world.headers(who)
    )
    assert response.status_code == 200, response.text
