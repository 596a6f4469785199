"""Real HTTP receivers on 127.0.0.1, and a harness that runs the delivery pipeline.

``Receiver`` is a threaded HTTP server on a free loopback port: it answers each POST
with the next code of ``codes`` (then ``default``), after the next of ``delays``
seconds (then ``delay``), and records every request's headers and body. A 3xx answer
carries a ``Location`` (to another path of the same server), to show it is not
followed.

``Pipeline`` is what a worker does, inline: the projections, the fan-out, and
attempts through ``Sender`` with a delivery client that goes through the SSRF guard
(``GuardedTransport``) over an inner transport that refuses to dial anything but
127.0.0.1 and ::1, so no test can send a packet elsewhere even if the guard broke.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import UUID

import httpx

from pulse.config import Settings
from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.project import Project
from pulse.domain.webhook_delivery import WebhookDelivery
from pulse.domain.webhook_endpoint import WebhookEndpoint
from pulse.outbound.resolver import StaticResolver
from pulse.projections.model import Document
from pulse.projections.runner import catch_up_all
from pulse.projections.store import read_model_database
from pulse.services.application import PulseApplication
from pulse.services.deliveries.fanout import fan_out
from pulse.services.deliveries.sender import Sender, SendResult, delivery_client
from pulse.services.webhook_secrets import WebhookSecrets, new_secret

LOOPBACK = frozenset({"127.0.0.1", "::1"})
SETUP = CommandContext(ActorKind.SYSTEM, "test-setup")


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    """``time.time()`` when the request's body had been read."""


@dataclass
class Receiver:
    codes: Sequence[int] = ()
    default: int = 200
    delays: Sequence[float] = ()
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._answered = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-request (a killed worker): nothing was
                    # delivered, as a real receiver would see it.
                    self.close_connection = True
                    return
                code, pause = receiver._record(self.path, dict(self.headers.items()), body)
                if pause:
                    time.sleep(pause)
                answer = f'{{"answered":{code}}}'.encode()
                try:
                    self.send_response(code)
                    if 300 <= code < 400:
                        self.send_header("Location", "/redirected")
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # The sender gave up (a timeout test).

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, float]:
        with self._lock:
            n = self._answered
            self._answered += 1
            self.received.append(
                Received(path, {k.lower(): v for k, v in headers.items()}, body, time.time())
            )
        code = self.codes[n] if n < len(self.codes) else self.default
        pause = self.delays[n] if n < len(self.delays) else self.delay
        return code, pause

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, within: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + within
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)


@contextmanager
def receiving(**options: object) -> Iterator[Receiver]:
    receiver = Receiver(**options)  # type: ignore[arg-type]
    try:
        yield receiver
    finally:
        receiver.close()


class LoopbackOnly(httpx.AsyncBaseTransport):
    """The delivery client's dialer in tests: anything but loopback is refused."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host not in LOOPBACK:
            raise httpx.ConnectError(f"test dialer refuses {request.url.host}", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def loopback_client(settings: Settings) -> httpx.AsyncClient:
    return delivery_client(settings, StaticResolver(), LoopbackOnly)


# -- the tenant side: a project, endpoints, events ---------------------------------------


def new_project(app: PulseApplication, organization_id: UUID | None = None) -> Project:
    """A project (the fan-out reads only ``rm_projects``: no organization is needed)."""
    project = Project(
        organization_id=organization_id or uuid.uuid4(),
        name=f"p-{uuid.uuid4().hex[:6]}",
        region="eu-west",
        webhook_url=None,
        storage=None,
        context=SETUP,
    )
    app.save(project)
    return project


def new_endpoint(
    app: PulseApplication,
    settings: Settings,
    project_id: UUID,
    url: str,
    event_types: list[str] | None = None,
) -> tuple[WebhookEndpoint, str]:
    """An endpoint saved as the service would; returns it and its plain secret."""
    secret = new_secret()
    endpoint = WebhookEndpoint(
        aggregate_id=uuid.uuid4(),
        project_id=project_id,
        url=url,
        description="test receiver",
        event_types=list(event_types or []),
        sealed_secret=WebhookSecrets(settings).seal(secret),
        context=SETUP,
    )
    app.save(endpoint)
    return endpoint, secret


def rename(app: PulseApplication, project_id: UUID, name: str | None = None) -> None:
    """A customer event: ``project.updated``."""
    project = app.load(project_id, Project)
    project.update({"name": name or f"p-{uuid.uuid4().hex[:6]}"}, SETUP)
    app.save(project)


# -- the pipeline, inline ----------------------------------------------------------------


class Pipeline:
    def __init__(
        self, app: PulseApplication, settings: Settings, client: httpx.AsyncClient
    ) -> None:
        self.app = app
        self.settings = settings
        self.sender = Sender(app, settings, client)

    @property
    def database(self) -> object:
        return read_model_database(self.app)

    def settle(self) -> None:
        catch_up_all(self.app, read_model_database(self.app), self.settings)

    def fan_out(self) -> list[WebhookDelivery]:
        self.settle()
        created = fan_out(self.app, read_model_database(self.app), self.settings).created
        self.settle()
        return created

    def delivery(self, delivery_id: UUID) -> WebhookDelivery:
        return self.app.load(delivery_id, WebhookDelivery)

    def document(self, collection: str, doc_id: str) -> Document | None:
        return read_model_database(self.app)[collection].find_one({"_id": doc_id})

    async def send(self, delivery_id: UUID) -> SendResult:
        return await self.sender.send(delivery_id)

    async def until_final(
        self, delivery_id: UUID, within: float = 30.0
    ) -> tuple[WebhookDelivery, list[str]]:
        """Send each attempt as it falls due until the delivery is final; the results."""
        results: list[str] = []
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            delivery = await asyncio.to_thread(self.delivery, delivery_id)
            if delivery.is_final:
                await asyncio.to_thread(self.settle)
                return delivery, results
            sent = await self.send(delivery_id)
            if sent.result != "not_due":
                results.append(sent.result)
            else:
                await asyncio.sleep(0.05)
        raise AssertionError(f"delivery {delivery_id} not final after {within} s: {results}")
