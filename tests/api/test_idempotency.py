"""Idempotency-Key on POST, against the real Redis: replay, conflicts, races, failures."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from redis import Redis

from pulse.api.idempotency import (
    ANONYMOUS_SCOPE,
    KEY_IN_PROGRESS_TYPE,
    KEY_INVALID_TYPE,
    KEY_REUSED_TYPE,
    redis_key,
    request_fingerprint,
)
from pulse.config import Settings
from tests.api.servers import free_port
from tests.api.support import build_app
from tests.conftest import REDIS_URL

PROBLEM = "application/problem+json"
BLOCK_TIMEOUT_SECONDS = 10.0


class Order(BaseModel):
    name: str = Field(min_length=1)


@dataclass
class Routes:
    """Test-only routes that count their calls; slow ones block until released."""

    calls: Counter[str] = field(default_factory=Counter)
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def install(self, app: FastAPI) -> None:
        @app.post("/_test/orders", status_code=201)
        async def create_order(order: Order, response: Response) -> dict[str, Any]:
            self.calls["orders"] += 1
            order_id = uuid.uuid4().hex
            response.headers["Location"] = f"/_test/orders/{order_id}"
            response.headers["ETag"] = f'"{order_id[:8]}"'
            return {"id": order_id, "name": order.name}

        @app.get("/_test/orders")
        async def list_orders() -> dict[str, int]:
            self.calls["list"] += 1
            return {"calls": self.calls["list"]}

        # A sync route runs in the thread pool, so blocking here leaves the loop free.
        @app.post("/_test/slow-orders", status_code=201)
        def create_slow_order(order: Order) -> dict[str, Any]:
            self.calls["slow"] += 1
            self.entered.set()
            assert self.release.wait(BLOCK_TIMEOUT_SECONDS)
            return {"id": uuid.uuid4().hex, "name": order.name}

        @app.post("/_test/racy-orders", status_code=201)
        def create_racy_order(order: Order) -> dict[str, Any]:
            self.calls["racy"] += 1
            time.sleep(0.3)  # Long enough for every racer to find the key taken.
            return {"id": uuid.uuid4().hex, "name": order.name}

        @app.post("/_test/flaky", status_code=201)
        async def flaky() -> Response:
            self.calls["flaky"] += 1
            if self.calls["flaky"] == 1:
                return JSONResponse({"error": "try again"}, status_code=503)
            return JSONResponse({"id": uuid.uuid4().hex}, status_code=201)

        @app.post("/_test/crashy", status_code=201)
        async def crashy() -> dict[str, str]:
            self.calls["crashy"] += 1
            if self.calls["crashy"] == 1:
                raise RuntimeError("first attempt fails")
            return {"id": uuid.uuid4().hex}

        @app.post("/v1/auth/_test/login")
        async def login() -> dict[str, str]:
            self.calls["login"] += 1
            return {"session": uuid.uuid4().hex}


@pytest.fixture
def key_prefix() -> Iterator[str]:
    prefix = f"pulse:test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    with Redis.from_url(REDIS_URL) as redis:
        keys = list(redis.scan_iter(match=f"{prefix}*"))
        if keys:
            redis.delete(*keys)


@pytest.fixture
def redis() -> Iterator[Redis]:
    with Redis.from_url(REDIS_URL) as client:
        yield client


@dataclass
class Harness:
    client: TestClient
    routes: Routes
    app: FastAPI


@pytest.fixture
def make_harness(
    make_settings: Callable[..., Settings], key_prefix: str
) -> Iterator[Callable[..., Harness]]:
    """The app plus counting routes, with this test's key prefix; settings may be overridden."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> Harness:
            app = build_app(make_settings(redis_key_prefix=key_prefix, **overrides))
            routes = Routes()
            routes.install(app)
            # Entered, so the lifespan opens the Redis client the middleware uses.
            client = stack.enter_context(TestClient(app))
            return Harness(client, routes, app)

        yield make


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()


def post(
    harness: Harness, path: str, key: str | None, body: dict[str, Any] | None = None, **kw: Any
) -> httpx2.Response:
    headers = dict(kw.pop("headers", {}))
    if key is not None:
        headers["Idempotency-Key"] = key
    return harness.client.post(path, json=body or {"name": "widget"}, headers=headers, **kw)


# --- Replay ----------------------------------------------------------------------------


def test_a_retry_gets_the_stored_response_and_the_route_runs_once(harness: Harness) -> None:
    first = post(harness, "/_test/orders", "order-1", headers={"X-Request-ID": "first-try"})
    second = post(harness, "/_test/orders", "order-1", headers={"X-Request-ID": "second-try"})

    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert second.status_code == 201
    assert second.content == first.content  # byte for byte, including the fresh id
    for header in ("content-type", "location", "etag"):
        assert second.headers[header] == first.headers[header]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Idempotent-Original-Request-ID"] == "first-try"
    assert second.headers["X-Request-ID"] == "second-try"
    # The outer middleware labels the replay as it does any answer.
    assert second.headers["X-Content-Type-Options"] == "nosniff"
    assert harness.routes.calls["orders"] == 1


def test_a_client_error_is_stored_and_replayed_too(harness: Harness) -> None:
    first = harness.client.post("/_test/orders", json={}, headers={"Idempotency-Key": "bad-1"})
    second = harness.client.post("/_test/orders", json={}, headers={"Idempotency-Key": "bad-1"})

    assert first.status_code == 422
    assert second.status_code == 422
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"


def test_the_response_is_kept_for_the_configured_time(
    make_harness: Callable[..., Harness], key_prefix: str, redis: Redis
) -> None:
    harness = make_harness(idempotency_ttl_seconds=120)

    post(harness, "/_test/orders", "kept")

    key = redis_key(key_prefix, ANONYMOUS_SCOPE, "kept")
    assert 110_000 < redis.pttl(key) <= 120_000


def test_without_a_key_every_post_runs(harness: Harness) -> None:
    first = post(harness, "/_test/orders", None)
    second = post(harness, "/_test/orders", None)

    assert first.json()["id"] != second.json()["id"]
    assert harness.routes.calls["orders"] == 2


def test_get_ignores_the_header(harness: Harness) -> None:
    for _ in range(2):
        response = harness.client.get("/_test/orders", headers={"Idempotency-Key": "g-1"})
        assert response.status_code == 200
        assert "Idempotent-Replayed" not in response.headers

    assert harness.routes.calls["list"] == 2


def test_exempt_prefixes_ignore_the_header(harness: Harness) -> None:
    first = post(harness, "/v1/auth/_test/login", "login-1")
    second = post(harness, "/v1/auth/_test/login", "login-1")

    assert first.json() != second.json()
    assert "Idempotent-Replayed" not in second.headers
    assert harness.routes.calls["login"] == 2


# --- Mismatches and invalid keys ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_test/orders", {"name": "another widget"}),
        ("/_test/orders?coupon=1", {"name": "widget"}),
        ("/_test/slow-orders", {"name": "widget"}),
    ],
    ids=["body", "query", "path"],
)
def test_the_same_key_for_a_different_request_is_422(
    harness: Harness, path: str, body: dict[str, Any]
) -> None:
    assert post(harness, "/_test/orders", "k-1", {"name": "widget"}).status_code == 201
    harness.routes.release.set()

    response = post(harness, path, "k-1", body)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == KEY_REUSED_TYPE
    assert "different request" in problem["detail"]
    assert harness.routes.calls["orders"] + harness.routes.calls["slow"] == 1


@pytest.mark.parametrize(
    "headers",
    [
        [("Idempotency-Key", "")],
        [("Idempotency-Key", "k" * 256)],
        [("Idempotency-Key", b"caf\xe9")],
        [("Idempotency-Key", "one"), ("Idempotency-Key", "two")],
    ],
    ids=["empty", "too-long", "not-ascii", "repeated"],
)
def test_an_invalid_key_is_400(harness: Harness, headers: list[tuple[str, Any]]) -> None:
    response = harness.client.post("/_test/orders", json={"name": "w"}, headers=headers)

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == KEY_INVALID_TYPE
    assert harness.routes.calls["orders"] == 0


def test_the_longest_valid_key_is_accepted(harness: Harness) -> None:
    key = "k y" + "k" * 252  # 255 characters; a space is printable ASCII too.

    assert post(harness, "/_test/orders", key).status_code == 201
    assert post(harness, "/_test/orders", key).headers["Idempotent-Replayed"] == "true"


# --- Server errors are not stored ----------------------------------------------------------


def test_a_5xx_answer_is_not_stored_so_the_retry_runs(harness: Harness) -> None:
    first = harness.client.post("/_test/flaky", headers={"Idempotency-Key": "f-1"})
    second = harness.client.post("/_test/flaky", headers={"Idempotency-Key": "f-1"})
    third = harness.client.post("/_test/flaky", headers={"Idempotency-Key": "f-1"})

    assert first.status_code == 503
    assert second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert third.status_code == 201
    assert third.content == second.content
    assert third.headers["Idempotent-Replayed"] == "true"
    assert harness.routes.calls["flaky"] == 2


def test_an_unhandled_exception_releases_the_key(harness: Harness) -> None:
    first = harness.client.post("/_test/crashy", headers={"Idempotency-Key": "c-1"})
    second = harness.client.post("/_test/crashy", headers={"Idempotency-Key": "c-1"})

    assert first.status_code == 500
    assert first.headers["content-type"] == PROBLEM
    assert second.status_code == 201
    assert harness.routes.calls["crashy"] == 2


# --- Concurrency -------------------------------------------------------------------------


def test_racing_requests_run_the_route_once_and_all_get_its_response(harness: Harness) -> None:
    racers = 6
    start = threading.Barrier(racers)

    def race(_: int) -> httpx2.Response:
        start.wait(timeout=5)
        return post(harness, "/_test/racy-orders", "race-1")

    with ThreadPoolExecutor(racers) as pool:
        responses = list(pool.map(race, range(racers)))

    assert harness.routes.calls["racy"] == 1
    assert {response.status_code for response in responses} == {201}
    assert len({response.content for response in responses}) == 1
    replayed = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(replayed) == racers - 1


def test_a_retry_waits_for_the_running_request_and_replays_it(harness: Harness) -> None:
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(post, harness, "/_test/slow-orders", "wait-1")
        assert harness.routes.entered.wait(5)
        second = pool.submit(post, harness, "/_test/slow-orders", "wait-1")
        time.sleep(0.3)  # The second request is now polling the key.
        assert not second.done()
        harness.routes.release.set()
        first_response, second_response = first.result(10), second.result(10)

    assert first_response.status_code == second_response.status_code == 201
    assert second_response.content == first_response.content
    assert second_response.headers["Idempotent-Replayed"] == "true"
    assert harness.routes.calls["slow"] == 1


def test_a_retry_gets_409_while_the_first_runs_longer_than_the_wait(
    make_harness: Callable[..., Harness],
) -> None:
    harness = make_harness(idempotency_wait_seconds=0.3)

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(post, harness, "/_test/slow-orders", "busy-1")
        assert harness.routes.entered.wait(5)
        started = time.monotonic()
        busy = post(harness, "/_test/slow-orders", "busy-1")
        waited = time.monotonic() - started
        harness.routes.release.set()
        first_response = first.result(10)

    assert busy.status_code == 409
    assert busy.headers["content-type"] == PROBLEM
    problem = busy.json()
    assert problem["type"] == KEY_IN_PROGRESS_TYPE
    assert "still being processed" in problem["detail"]
    assert 0.25 < waited < 3
    after = post(harness, "/_test/slow-orders", "busy-1")
    assert after.content == first_response.content
    assert harness.routes.calls["slow"] == 1


def test_a_request_longer_than_the_lease_keeps_its_key(
    make_harness: Callable[..., Harness],
) -> None:
    # Renewed every third of the lease; a lease of 1 s leaves room for a busy machine.
    harness = make_harness(idempotency_lease_seconds=1.0)

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(post, harness, "/_test/slow-orders", "long-1")
        assert harness.routes.entered.wait(5)
        second = pool.submit(post, harness, "/_test/slow-orders", "long-1")
        time.sleep(3.0)  # Three leases: without renewals the second would take over.
        harness.routes.release.set()
        responses = [first.result(10), second.result(10)]

    assert harness.routes.calls["slow"] == 1
    assert responses[0].content == responses[1].content


def test_a_reservation_left_by_a_dead_process_lapses_and_the_retry_runs(
    harness: Harness, key_prefix: str, redis: Redis
) -> None:
    body = b'{"name":"widget"}'
    scope = {"method": "POST", "path": "/_test/orders", "query_string": b""}
    dead_claim = json.dumps({"fingerprint": request_fingerprint(scope, body), "owner": "dead"})
    redis.set(redis_key(key_prefix, ANONYMOUS_SCOPE, "orphan"), dead_claim, px=500)

    started = time.monotonic()
    response = harness.client.post(
        "/_test/orders",
        content=body,
        headers={"Idempotency-Key": "orphan", "Content-Type": "application/json"},
    )

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert time.monotonic() - started >= 0.4
    assert harness.routes.calls["orders"] == 1


# --- Scopes ------------------------------------------------------------------------------


def test_the_same_key_from_two_credentials_does_not_collide(harness: Harness) -> None:
    alice = {"Authorization": "Bearer alice-token"}
    bob = {"X-Pulse-Key": "bob-key"}

    alice_first = post(harness, "/_test/orders", "shared", headers=alice)
    bob_first = post(harness, "/_test/orders", "shared", headers=bob)
    anonymous = post(harness, "/_test/orders", "shared")
    alice_again = post(harness, "/_test/orders", "shared", headers=alice)

    assert len({alice_first.content, bob_first.content, anonymous.content}) == 3
    assert "Idempotent-Replayed" not in bob_first.headers
    assert "Idempotent-Replayed" not in anonymous.headers
    assert alice_again.content == alice_first.content
    assert harness.routes.calls["orders"] == 3


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync-hook", "async-hook"])
def test_the_scope_function_is_pluggable(harness: Harness, asynchronous: bool) -> None:
    def principal(request: Request) -> str | None:
        return request.headers.get("X-Test-Principal")

    async def principal_async(request: Request) -> str | None:
        return principal(request)

    harness.app.state.idempotency_scope = principal_async if asynchronous else principal
    one = {"Authorization": "Bearer old", "X-Test-Principal": "user-1"}
    rotated = {"Authorization": "Bearer new", "X-Test-Principal": "user-1"}

    first = post(harness, "/_test/orders", "p-1", headers=one)
    second = post(harness, "/_test/orders", "p-1", headers=rotated)

    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"


def test_no_credential_or_key_text_reaches_redis_or_the_logs(
    harness: Harness, key_prefix: str, redis: Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    post(harness, "/_test/orders", "key-text-xyz", headers={"Authorization": "Bearer s3cr3t-tok"})
    post(harness, "/_test/orders", "key-text-xyz", headers={"Authorization": "Bearer s3cr3t-tok"})

    keys = list(redis.scan_iter(match=f"{key_prefix}idempotency:*"))
    assert len(keys) == 1
    stored = keys[0] + (redis.get(keys[0]) or b"")
    output = capsys.readouterr().out
    for text in ("s3cr3t-tok", "key-text-xyz"):
        assert text.encode() not in stored
        assert text not in output


# --- Failures ----------------------------------------------------------------------------


def test_a_keyed_post_is_refused_with_503_while_redis_is_down(
    make_harness: Callable[..., Harness],
) -> None:
    harness = make_harness(redis_url=f"redis://127.0.0.1:{free_port()}/0")

    refused = post(harness, "/_test/orders", "down-1")
    unkeyed = post(harness, "/_test/orders", None)

    assert refused.status_code == 503
    assert refused.headers["content-type"] == PROBLEM
    assert "retry" in refused.json()["detail"]
    assert unkeyed.status_code == 201
    assert harness.routes.calls["orders"] == 1


def test_a_streamed_body_over_the_limit_is_413_problem(
    make_harness: Callable[..., Harness],
) -> None:
    harness = make_harness(max_request_body_bytes=16)

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        yield b"x" * 64
        yield b'"}'

    response = harness.client.post(
        "/_test/orders",
        content=chunks(),
        headers={"Idempotency-Key": "big-1", "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert "16 bytes" in response.json()["detail"]
    assert harness.routes.calls["orders"] == 0
