"""The SSRF guard: forbidden destinations are refused when an endpoint is created
(422 over HTTP) and again when a delivery is sent (``GuardedTransport``).

No test here can send a packet off loopback even if the guard were broken: names
resolve through a ``StaticResolver`` (no DNS), and the transport under the guard
(``LoopbackOnly``) refuses to dial anything but 127.0.0.1 and ::1, and records what
it was asked to dial so the tests can assert it never saw a forbidden address.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient
from redis import Redis

from pulse.api.app import create_app
from pulse.config import Settings
from pulse.domain.errors import InvalidValueError
from pulse.migrator import Migrator
from pulse.outbound.addresses import forbidden_reason, parse_address
from pulse.outbound.guard import check_url
from pulse.outbound.resolver import StaticResolver
from pulse.outbound.transport import ForbiddenDestinationError, GuardedTransport
from tests.conftest import MONGO_URI, REDIS_URL
from tests.management.conftest import management_settings
from tests.management.world import World, build_world

LOOPBACK = frozenset({"127.0.0.1", "::1"})

# The acceptance list, plus the other ways to spell the same places.
REFUSED_AT_CREATION = [
    "http://127.0.0.1/hook",
    "https://127.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "https://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/hook",
    "https://10.0.0.1/hook",
    "https://[::1]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://[fe80::1%25eth0]/hook",
    "https://[2002:a00:1::1]/hook",  # 6to4 of 10.0.0.1
    "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    "https://2130706433/hook",  # 127.0.0.1 in decimal
    "https://0x7f.1/hook",
    "https://017700000001/hook",  # octal
    "https://0/hook",
    "https://100.64.0.1/hook",
    "https://192.168.1.1/hook",
    "https://172.16.0.1/hook",
    "https://198.18.0.1/hook",
    "https://224.0.0.1/hook",
    "https://private.hooks.test/hook",  # resolves (test resolver) to 10.1.2.3
    "https://mixed.hooks.test/hook",  # one public and one private address
    "https://meta.hooks.test/hook",  # resolves to the metadata address
    "https://nowhere.hooks.test/hook",  # does not resolve
    "http://public.hooks.test/hook",  # production requires https
    "ftp://public.hooks.test/hook",
    "https://user:secret@public.hooks.test/hook",
]

TABLE = {
    "public.hooks.test": ["8.8.8.8"],
    "private.hooks.test": ["10.1.2.3"],
    "mixed.hooks.test": ["8.8.4.4", "192.168.0.10"],
    "meta.hooks.test": ["169.254.169.254"],
    "loop.hooks.test": ["127.0.0.1"],
}


def production_settings(database: str) -> Settings:
    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    return management_settings(
        database,
        environment="production",
        jwt_secret=key(),
        credential_pepper=key(),
        storage_secrets_key=key(),
    )


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """A tenant world served in production mode, resolving names from ``TABLE``."""
    database = f"pulse_test_{uuid.uuid4().hex[:12]}"
    settings = production_settings(database)
    with MongoClient(MONGO_URI, serverSelectionTimeoutMS=5_000) as mongo:
        Migrator(mongo[database], settings).migrate()
        try:
            app = create_app(settings)
            app.state.webhook_resolver = StaticResolver(TABLE)
            with TestClient(app) as client:
                yield build_world(client, settings)
        finally:
            mongo.drop_database(database)
            redis = Redis.from_url(REDIS_URL)
            for key in redis.scan_iter(match=f"{settings.redis_key_prefix}*"):
                redis.delete(key)
            redis.close()


class LoopbackOnly(httpx.AsyncBaseTransport):
    """The transport under the guard in tests: dials loopback only, records every ask."""

    def __init__(self) -> None:
        self.asked: list[httpx.Request] = []
        self._real = httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request)
        if request.url.host not in LOOPBACK:
            raise AssertionError(f"asked to dial {request.url.host}: refused")
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


def _endpoints(world: World) -> str:
    return f"/v1/projects/{world.project_a}/webhooks/endpoints"


@pytest.mark.parametrize("url", REFUSED_AT_CREATION)
def test_production_refuses_forbidden_urls_at_creation_with_a_422_problem(
    world: World, url: str
) -> None:
    response = world.client.post(
        _endpoints(world), json={"url": url}, headers=world.headers("owner")
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 422
    assert "secret" not in response.text


def test_a_public_https_url_is_accepted_and_a_later_change_is_checked_again(
    world: World,
) -> None:
    created = world.client.post(
        _endpoints(world),
        json={"url": "https://public.hooks.test/hook"},
        headers=world.headers("owner"),
    )
    assert created.status_code == 201, created.text
    endpoint = f"{_endpoints(world)}/{created.json()['id']}"

    moved = world.client.patch(
        endpoint, json={"url": "https://169.254.169.254/"}, headers=world.headers("owner")
    )
    assert moved.status_code == 422, moved.text
    kept = world.client.get(endpoint, headers=world.headers("owner")).json()
    assert kept["url"] == "https://public.hooks.test/hook"


def test_a_project_webhook_url_is_checked_before_the_project_is_created(world: World) -> None:
    before = world.client.get(
        f"/v1/projects?organization_id={world.organization_a}&limit=100",
        headers=world.headers("owner"),
    ).json()["total"]
    refused = world.client.post(
        "/v1/projects",
        json={
            "organization_id": str(world.organization_a),
            "name": "metadata-please",
            "webhook_url": "http://169.254.169.254/latest/meta-data/",
        },
        headers=world.headers("owner"),
    )
    assert refused.status_code == 422, refused.text
    world.settle()
    after = world.client.get(
        f"/v1/projects?organization_id={world.organization_a}&limit=100",
        headers=world.headers("owner"),
    ).json()["total"]
    assert after == before


# -- at delivery time -------------------------------------------------------------------


def _send(settings: Settings, resolver: StaticResolver, url: str) -> tuple[Any, LoopbackOnly]:
    """POST ``url`` through the guard; the response, or the error it raised."""
    inner = LoopbackOnly()

    async def go() -> Any:
        transport = GuardedTransport(settings, resolver, inner_transport_factory=lambda: inner)
        async with httpx.AsyncClient(transport=transport, follow_redirects=False) as client:
            try:
                return await client.post(url, json={"type": "test"}, timeout=5)
            except httpx.HTTPError as error:
                return error

    return asyncio.run(go()), inner


REFUSED_AT_DELIVERY = [
    "http://127.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/hook",
    "https://[::1]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://2130706433/hook",
    "https://private.hooks.test/hook",
    "https://mixed.hooks.test/hook",
    "https://meta.hooks.test/hook",
    "https://loop.hooks.test/hook",
]


@pytest.mark.parametrize("url", REFUSED_AT_DELIVERY)
def test_production_refuses_forbidden_destinations_at_delivery_without_dialing(
    world: World, url: str
) -> None:
    outcome, inner = _send(world.settings, StaticResolver(TABLE), url)
    assert isinstance(outcome, ForbiddenDestinationError), outcome
    assert outcome.reason
    assert inner.asked == []  # Nothing was dialed, not even loopback.


def test_a_name_that_resolves_elsewhere_after_the_check_is_refused_at_delivery(
    world: World,
) -> None:
    """DNS rebinding: public when the endpoint was created, private when delivering."""
    table = {"rebind.hooks.test": ["8.8.8.8"]}
    resolver = StaticResolver(table)
    world.client.app.state.webhook_resolver = resolver  # type: ignore[attr-defined]
    try:
        created = world.client.post(
            _endpoints(world),
            json={"url": "https://rebind.hooks.test/hook"},
            headers=world.headers("owner"),
        )
        assert created.status_code == 201, created.text
    finally:
        world.client.app.state.webhook_resolver = StaticResolver(TABLE)  # type: ignore[attr-defined]

    rebound = StaticResolver({"rebind.hooks.test": ["10.0.0.1"]})
    outcome, inner = _send(world.settings, rebound, "https://rebind.hooks.test/hook")
    assert isinstance(outcome, ForbiddenDestinationError)
    assert "10.0.0.1" in outcome.reason
    assert inner.asked == []


# -- development: loopback receivers ------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _Hook.seen.append((self.path, dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[int]:
    _Hook.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _development(allow_loopback: bool) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, environment="development", webhook_allow_loopback=allow_loopback
    )


def test_the_development_setting_allows_a_loopback_receiver_reached_by_name(
    receiver: int,
) -> None:
    url = f"http://receiver.hooks.test:{receiver}/hook"
    resolver = StaticResolver({"receiver.hooks.test": ["127.0.0.1"]})
    asyncio.run(check_url(url, _development(True), resolver))

    outcome, inner = _send(_development(True), resolver, url)
    assert isinstance(outcome, httpx.Response), outcome
    assert outcome.status_code == 204
    # Dialed the vetted address, while the receiver saw the name it was configured with.
    assert [request.url.host for request in inner.asked] == ["127.0.0.1"]
    path, headers, body = _Hook.seen[0]
    assert path == "/hook"
    assert headers["Host"] == f"receiver.hooks.test:{receiver}"
    assert body == b'{"type":"test"}'


def test_without_the_setting_loopback_is_refused_even_in_development(receiver: int) -> None:
    url = f"http://127.0.0.1:{receiver}/hook"
    with pytest.raises(InvalidValueError):
        asyncio.run(check_url(url, _development(False), StaticResolver()))
    outcome, inner = _send(_development(False), StaticResolver(), url)
    assert isinstance(outcome, ForbiddenDestinationError)
    assert inner.asked == []
    assert _Hook.seen == []


def test_loopback_in_other_spellings_is_refused_even_when_loopback_is_allowed() -> None:
    """A decimal or octal address is a name to URL parsers: never trusted as one."""
    for url in ("http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/"):
        with pytest.raises(InvalidValueError):
            asyncio.run(check_url(url, _development(True), StaticResolver()))


def test_https_keeps_the_name_for_tls_while_connecting_to_the_vetted_address() -> None:
    """SNI and the Host header carry the name; the URL the inner transport gets has the IP."""
    seen: list[httpx.Request] = []

    class Recorder(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200)

    async def go() -> None:
        transport = GuardedTransport(
            _development(True),
            StaticResolver({"tls.hooks.test": ["::1"]}),
            inner_transport_factory=Recorder,
        )
        async with httpx.AsyncClient(transport=transport) as client:
            await client.post("https://tls.hooks.test:8443/hook", content=b"{}")

    asyncio.run(go())
    (request,) = seen
    assert request.url.host == "::1"
    assert request.url.port == 8443
    assert request.headers["host"] == "tls.hooks.test:8443"
    assert request.extensions["sni_hostname"] == "tls.hooks.test"


# -- the address table --------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.255.254",
        "::1",
        "0.0.0.0",
        "::",
        "10.0.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "100.64.0.1",
        "169.254.169.254",
        "fe80::1",
        "fd00:ec2::254",
        "fc00::1",
        "224.0.0.251",
        "ff02::1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "198.51.100.1",
        "203.0.113.1",
        "198.18.0.1",
        "2001:db8::1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::10.0.0.1",
        "2002:7f00:1::",
        "64:ff9b::7f00:1",
        "64:ff9b:1::1",
    ],
)
def test_forbidden_addresses(address: str) -> None:
    parsed = parse_address(address)
    assert parsed is not None
    assert forbidden_reason(parsed) is not None
    # Allowing loopback allows exactly loopback, nothing else.
    if address not in ("127.0.0.1", "127.255.255.254", "::1"):
        assert forbidden_reason(parsed, allow_loopback=True) is not None


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    parsed = parse_address(address)
    assert parsed is not None
    assert forbidden_reason(parsed) is None


def test_two_https_names_on_one_address_never_share_a_connection() -> None:
    """A connection is verified for one name; another name gets a pool of its own."""
    made: list[list[str]] = []

    class Pool(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.hosts: list[str] = []
            made.append(self.hosts)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.hosts.append(request.extensions["sni_hostname"])
            return httpx.Response(200)

    async def go() -> None:
        transport = GuardedTransport(
            _development(True),
            StaticResolver({"a.hooks.test": ["127.0.0.1"], "b.hooks.test": ["127.0.0.1"]}),
            inner_transport_factory=Pool,
        )
        async with httpx.AsyncClient(transport=transport) as client:
            for host in ("a", "b", "a"):
                await client.post(f"https://{host}.hooks.test/hook", content=b"{}")

    asyncio.run(go())
    assert [hosts for hosts in made if hosts] == [
        ["a.hooks.test", "a.hooks.test"],
        ["b.hooks.test"],
    ]
