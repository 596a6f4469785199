"""Rate limits per client IP and per project, against the real Redis."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from ipaddress import ip_network
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from redis import Redis

from pulse.api.client_ip import client_ip_of, parse_ip, resolve_client_ip
from pulse.api.ratelimit import Decision, Policy, ip_subject, reported_decision
from pulse.config import Settings
from tests.api.servers import free_port
from tests.api.support import build_app
from tests.conftest import REDIS_URL

PROBLEM = "application/problem+json"
PROXY = ("10.0.0.2", 50000)  # A peer inside the trusted 10.0.0.0/8 below.
RATE_LIMIT = re.compile(r'"(?P<name>\w+)";r=(?P<r>\d+);t=(?P<t>\d+)')

ClientFactory = Callable[..., TestClient]


@pytest.fixture
def key_prefix() -> Iterator[str]:
    prefix = f"pulse:test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    with Redis.from_url(REDIS_URL) as redis:
        keys = list(redis.scan_iter(match=f"{prefix}*"))
        if keys:
            redis.delete(*keys)


def add_routes(app: FastAPI) -> None:
    @app.get("/_test/whoami")
    async def whoami(request: Request) -> dict[str, str | None]:
        return {"client_ip": client_ip_of(request.scope)}


@pytest.fixture
def make_client(make_settings: Callable[..., Settings], key_prefix: str) -> Iterator[ClientFactory]:
    """A started test client; ``peer`` is the socket address the app sees."""
    with ExitStack() as stack:

        def make(
            peer: tuple[str, int] = ("testclient", 50000),
            project_of: Callable[[Request], Any] | None = None,
            **overrides: Any,
        ) -> TestClient:
            app = build_app(make_settings(redis_key_prefix=key_prefix, **overrides))
            add_routes(app)
            if project_of is not None:
                app.state.rate_limit_project = project_of
            return stack.enter_context(TestClient(app, client=peer))

        yield make


def limit_of(response: httpx2.Response) -> tuple[str, int, int]:
    match = RATE_LIMIT.fullmatch(response.headers["RateLimit"])
    assert match, response.headers["RateLimit"]
    return match["name"], int(match["r"]), int(match["t"])


def from_ip(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


# --- The per-IP limit ----------------------------------------------------------------------


def test_the_request_over_the_limit_is_429_with_retry_after(make_client: ClientFactory) -> None:
    client = make_client(rate_limit_ip_requests=5)

    allowed = [client.get("/_test/search?limit=1") for _ in range(5)]
    refused = client.get("/_test/search?limit=1", headers={"X-Request-ID": "over-limit"})

    assert [response.status_code for response in allowed] == [200] * 5
    for response in allowed:
        assert response.headers["RateLimit-Policy"] == '"ip";q=5;w=60'
    assert [limit_of(response)[1] for response in allowed] == [4, 3, 2, 1, 0]
    assert all(0 < limit_of(response)[2] <= 60 for response in allowed)

    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 12  # One request is regained every 60 / 5 s.
    assert refused.headers["RateLimit-Policy"] == '"ip";q=5;w=60'
    assert limit_of(refused)[:2] == ("ip", 0)
    problem = refused.json()
    assert problem["status"] == 429
    assert problem["title"] == "Too Many Requests"
    assert "5 requests per 60 s" in problem["detail"]
    assert problem["request_id"] == "over-limit"
    assert refused.headers["X-Request-ID"] == "over-limit"
    assert refused.headers["Cache-Control"] == "no-store"


def test_a_refused_request_never_reaches_the_route(make_client: ClientFactory) -> None:
    client = make_client(rate_limit_ip_requests=1)
    assert client.post("/_test/items", json={"name": "a", "quantity": 1}).status_code == 200

    # The route would answer 422 to this body; the limit answers first.
    assert client.post("/_test/items", json={}).status_code == 429


def test_the_quota_comes_back_over_the_window(make_client: ClientFactory) -> None:
    client = make_client(rate_limit_ip_requests=2, rate_limit_ip_window_seconds=1)
    assert [client.get("/_test/whoami").status_code for _ in range(2)] == [200, 200]
    refused = client.get("/_test/whoami")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"

    time.sleep(0.6)  # One request every 0.5 s.

    assert client.get("/_test/whoami").status_code == 200
    assert client.get("/_test/whoami").status_code == 429


def test_concurrent_requests_get_exactly_the_quota(make_client: ClientFactory) -> None:
    client = make_client(rate_limit_ip_requests=10)

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: client.get("/_test/whoami").status_code, range(30)))

    assert statuses.count(200) == 10
    assert statuses.count(429) == 20


def test_clients_behind_a_trusted_proxy_have_their_own_limits(make_client: ClientFactory) -> None:
    client = make_client(PROXY, rate_limit_ip_requests=2, trusted_proxies=["10.0.0.0/8"])

    for _ in range(2):
        assert client.get("/_test/whoami", headers=from_ip("203.0.113.1")).status_code == 200
    assert client.get("/_test/whoami", headers=from_ip("203.0.113.1")).status_code == 429

    other = client.get("/_test/whoami", headers=from_ip("203.0.113.2"))
    assert other.status_code == 200
    assert other.json() == {"client_ip": "203.0.113.2"}
    assert limit_of(other)[1] == 1


def test_forwarded_for_from_an_untrusted_peer_is_ignored(make_client: ClientFactory) -> None:
    client = make_client(
        ("192.0.2.9", 40000), rate_limit_ip_requests=2, trusted_proxies=["10.0.0.0/8"]
    )

    answers = [client.get("/_test/whoami", headers=from_ip(f"203.0.113.{n}")) for n in range(1, 4)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[0].json() == {"client_ip": "192.0.2.9"}


def test_ipv6_clients_are_limited_per_64(make_client: ClientFactory) -> None:
    client = make_client(PROXY, rate_limit_ip_requests=2, trusted_proxies=["10.0.0.0/8"])

    same_64 = [client.get("/_test/whoami", headers=from_ip(f"2001:db8::{n}")) for n in (1, 2, 3)]
    other_64 = client.get("/_test/whoami", headers=from_ip("2001:db8:0:1::1"))

    assert [answer.status_code for answer in same_64] == [200, 200, 429]
    assert other_64.status_code == 200


# --- The per-project limit -----------------------------------------------------------------


def project_header(request: Request) -> str | None:
    return request.headers.get("X-Test-Project")


async def project_header_async(request: Request) -> str | None:
    return project_header(request)


@pytest.mark.parametrize("hook", [project_header, project_header_async], ids=["sync", "async"])
def test_the_project_limit_applies_once_the_hook_names_a_project(
    make_client: ClientFactory, hook: Callable[[Request], Any]
) -> None:
    client = make_client(project_of=hook, rate_limit_project_requests=2)
    project_a = {"X-Test-Project": "project-a"}

    answers = [client.get("/_test/whoami", headers=project_a) for _ in range(3)]
    project_b = client.get("/_test/whoami", headers={"X-Test-Project": "project-b"})
    no_project = client.get("/_test/whoami")

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[0].headers["RateLimit-Policy"] == '"ip";q=100;w=60, "project";q=2;w=60'
    assert limit_of(answers[0])[:2] == ("project", 1)
    assert limit_of(answers[2])[:2] == ("project", 0)
    assert "project limit is 2 requests per 60 s" in answers[2].json()["detail"]
    assert project_b.status_code == 200
    assert no_project.status_code == 200
    assert no_project.headers["RateLimit-Policy"] == '"ip";q=100;w=60'


def test_the_header_reports_the_limit_closest_to_exhaustion(make_client: ClientFactory) -> None:
    client = make_client(
        project_of=project_header, rate_limit_ip_requests=10, rate_limit_project_requests=20
    )
    # The IP has 9 of 10 left (90 %), the project 19 of 20 (95 %): the IP is reported.
    first = client.get("/_test/whoami", headers={"X-Test-Project": "p"})
    assert limit_of(first)[:2] == ("ip", 9)

    other = make_client(
        ("198.51.100.2", 1234),
        project_of=project_header,
        rate_limit_ip_requests=20,
        rate_limit_project_requests=4,
    )
    # Another peer and project: now the project (3 of 4 left) is closer to empty.
    assert limit_of(other.get("/_test/whoami", headers={"X-Test-Project": "q"}))[:2] == (
        "project",
        3,
    )


def test_the_project_hook_does_not_run_for_a_request_refused_by_ip(
    make_client: ClientFactory,
) -> None:
    calls: list[str] = []

    def counting(request: Request) -> str:
        calls.append(request.url.path)
        return "p"

    client = make_client(project_of=counting, rate_limit_ip_requests=1)
    client.get("/_test/whoami")
    client.get("/_test/whoami")

    assert calls == ["/_test/whoami"]


# --- Exemptions, switches and failures ------------------------------------------------------


def test_health_and_readiness_are_exempt(make_client: ClientFactory) -> None:
    client = make_client(rate_limit_ip_requests=1)

    for _ in range(3):
        for path in ("/health", "/ready"):
            response = client.get(path)
            assert response.status_code == 200, response.text
            assert "RateLimit" not in response.headers
    assert client.get("/_test/whoami").status_code == 200
    assert client.get("/_test/whoami").status_code == 429


def test_a_zero_quota_turns_a_limit_off(make_client: ClientFactory) -> None:
    client = make_client(rate_limit_ip_requests=0)

    responses = [client.get("/_test/whoami") for _ in range(5)]

    assert {response.status_code for response in responses} == {200}
    assert "RateLimit" not in responses[0].headers


def test_requests_are_served_without_limits_while_redis_is_down(
    make_client: ClientFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client(redis_url=f"redis://127.0.0.1:{free_port()}/0", rate_limit_ip_requests=2)
    capsys.readouterr()

    responses = [client.get("/_test/whoami") for _ in range(5)]

    assert {response.status_code for response in responses} == {200}
    assert "RateLimit" not in responses[0].headers
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line[:1] == "{"]
    warnings = [line for line in lines if line["event"] == "rate_limit_unavailable"]
    assert len(warnings) == 1  # Once per interval, not once per request.
    assert warnings[0]["level"] == "warning"


# --- Client address resolution (pure functions) --------------------------------------------

TRUSTED = [ip_network("10.0.0.0/8"), ip_network("fd00::/8")]


def scope_from(peer: str | None, *forwarded: str) -> dict[str, Any]:
    return {
        "type": "http",
        "client": (peer, 1234) if peer is not None else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("198.51.100.7", [], "198.51.100.7"),
        ("198.51.100.7", ["203.0.113.1"], "198.51.100.7"),  # peer not trusted
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["203.0.113.1"], "203.0.113.1"),
        ("10.0.0.2", ["6.6.6.6, 203.0.113.1"], "203.0.113.1"),  # a forged left entry
        ("10.0.0.2", ["203.0.113.1, 10.1.1.1"], "203.0.113.1"),  # two trusted hops
        ("10.0.0.2", ["203.0.113.1", "10.1.1.1"], "203.0.113.1"),  # two header lines
        ("10.0.0.2", ["10.3.3.3, 10.1.1.1"], "10.3.3.3"),  # all trusted: the farthest
        ("10.0.0.2", ["203.0.113.1, junk"], "10.0.0.2"),  # junk from our side: stop
        ("10.0.0.2", ["203.0.113.1:4711"], "203.0.113.1"),
        ("10.0.0.2", ["[2001:db8::5]:443"], "2001:db8::5"),
        ("::ffff:10.0.0.2", ["203.0.113.1"], "203.0.113.1"),  # IPv4-mapped peer
        ("fd00::1", ["2001:db8::5"], "2001:db8::5"),
        ("testclient", ["203.0.113.1"], "testclient"),
        (None, ["203.0.113.1"], "unknown"),
    ],
)
def test_the_client_address_is_the_nearest_untrusted_hop(
    peer: str | None, forwarded: list[str], expected: str
) -> None:
    assert resolve_client_ip(scope_from(peer, *forwarded), TRUSTED) == expected


def test_without_trusted_proxies_forwarded_for_is_ignored() -> None:
    assert resolve_client_ip(scope_from("10.0.0.2", "203.0.113.1"), []) == "10.0.0.2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.2.3.4", "1.2.3.4"), (" 1.2.3.4 ", "1.2.3.4"), ("::1", "::1"), ("nope", None)],
)
def test_parse_ip(text: str, expected: str | None) -> None:
    address = parse_ip(text)
    assert (str(address) if address else None) == expected


def test_ip_subjects_group_ipv6_by_64() -> None:
    assert ip_subject("203.0.113.1") == "203.0.113.1"
    assert ip_subject("2001:db8::1") == ip_subject("2001:db8::ffff") == "2001:db8::/64"
    assert ip_subject("testclient") == "testclient"


def test_the_reported_decision_prefers_a_refusal_then_the_least_headroom() -> None:
    ip, project = Policy("ip", 100, 60), Policy("project", 1000, 60)
    ip_half = Decision(ip, True, 50, 30, 0)
    project_tenth = Decision(project, True, 100, 54, 0)
    project_refused = Decision(project, False, 0, 60, 1)

    assert reported_decision([ip_half, project_tenth]) is project_tenth
    assert reported_decision([ip_half, project_refused]) is project_refused
