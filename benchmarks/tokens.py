"""Tokens: LiveKit tokens minted per second over HTTP, beside one AccessToken's raw cost.

Measures, in one run:

- ``POST /v1/tokens/create`` with a project key (``X-Pulse-Key``), with 1 and 8
  concurrent clients (``--concurrency``), ``--requests`` requests per case: p50/p99/max
  latency and tokens per second (completed requests / wall time). Each request names a
  new identity in one room, so each pays the full path: key check, ban check (an
  aggregate load), region selection (Redis), the mint, the minted-token counter (Redis);
- for reference, ``GET /health`` (no database, no Redis) over the same kind of connection;
- in this process, the raw cost of minting: livekit-api's ``AccessToken`` with the grants
  Pulse gives (identity, TTL, a room-join grant for one room) and ``to_jwt()``, and
  Pulse's own ``pulse.livekit.tokens.mint`` (the same plus the dataclasses around it):
  ``--mints`` tokens each, tokens/s and µs per token.

Every case stops by itself: after its requests, or after ``--max-seconds`` of wall time,
whichever comes first; each request has a 30 s timeout.

By default the script starts its own processes, as ``make dev`` would, on throwaway
state (see ``benchmarks/api.py``, whose process handling it shares): ``pulse migrate``,
``pulse api`` on a free port of 127.0.0.1 and ``pulse worker``, with a database, Redis key
prefix and worker queue of their own, and both rate limits off
(``PULSE_RATE_LIMIT_IP_REQUESTS=0``, ``PULSE_RATE_LIMIT_PROJECT_REQUESTS=0``): one key
minting thousands of tokens a minute from 127.0.0.1 would otherwise get 429 after 100.
It signs up a user, creates an organization and a project (region ``eu-west``, whose
LiveKit is ``PULSE_LIVEKIT_URL`` unless ``PULSE_LIVEKIT_REGIONS`` says otherwise) and
uses the project's first key. At the end, also on Ctrl-C, SIGTERM or an error, it stops
the processes and drops the database and the Redis keys. ``--url`` uses an API already
running on 127.0.0.1 instead (``make dev`` with both rate limits off); it leaves its user,
organization and project behind. Any host other than 127.0.0.1 is refused.

Usage (services running, e.g. after ``make services``)::

    uv run python benchmarks/tokens.py [--requests 1000] [--concurrency 1,8]
                                       [--max-seconds 60] [--mints 20000]
                                       [--url http://127.0.0.1:8000]

Run as a script (it imports ``benchmarks/api.py`` as ``api``). Prints Markdown tables;
docs/performance.md records a run and the command.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import httpx
from api import (
    Processes,
    Tenant,
    checked,
    client_counts,
    guarded,
    percentile_ms,
    sign_up,
)
from livekit.api import AccessToken, VideoGrants

from pulse.config import RegionEndpoint, Settings
from pulse.livekit.regions import CATALOG, Region
from pulse.livekit.tokens import RoomGrants, TokenRequest, mint

LOOPBACK = "127.0.0.1"
WARM_UP = 20
REFERENCE_REQUESTS = 200
REQUEST_TIMEOUT_SECONDS = 30.0
ROOM = "bench-room"
TTL = timedelta(hours=1)
RATE_LIMITED = (
    "429 Too Many Requests: run the API with PULSE_RATE_LIMIT_IP_REQUESTS=0 and "
    "PULSE_RATE_LIMIT_PROJECT_REQUESTS=0"
)


@dataclass
class Result:
    case: str
    clients: int
    seconds: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def rate(self) -> str:
        return f"{len(self.latencies) / self.seconds:,.1f}" if self.seconds else "-"

    def ms(self, q: int | None) -> str:
        return percentile_ms(self.latencies, q)

    def summary(self) -> str:
        return (
            f"{self.case}, {self.clients} client(s): p50 {self.ms(50)} ms, p99 {self.ms(99)} "
            f"ms, max {self.ms(None)} ms, {self.rate}/s, {self.errors} error(s)"
            + (f" {dict(self.failures)}" if self.failures else "")
        )

    def row(self) -> str:
        return (
            f"| {self.case} | {self.clients} | {self.requests:,} | {self.errors} "
            f"| {self.ms(50)} | {self.ms(99)} | {self.ms(None)} | {self.rate} |"
        )


@dataclass
class Minting:
    case: str
    tokens: int
    seconds: float

    def row(self) -> str:
        per_second = self.tokens / self.seconds
        return (
            f"| {self.case} | {self.tokens:,} | {self.seconds:.2f} | {per_second:,.0f} "
            f"| {self.seconds / self.tokens * 1e6:,.1f} |"
        )


# -- the tenant and its key ------------------------------------------------------------


def project_key(tenant: Tenant, token: str) -> dict[str, str]:
    """A project in eu-west; the headers that authenticate with its first key."""
    with httpx.Client(base_url=tenant.url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
        created = checked(
            client.post(
                "/v1/projects",
                json={
                    "organization_id": tenant.organization_id,
                    "name": f"bench-tokens-{token}",
                    "region": "eu-west",
                },
                headers=tenant.headers,
            ),
            201,
        )
    return {"X-Pulse-Key": created["key"]["secret"]}


def loopback_only(url: str) -> str:
    host = httpx.URL(url).host
    if host != LOOPBACK:
        raise SystemExit(f"--url must be on {LOOPBACK}, not {host!r}")
    return url.rstrip("/")


# -- over HTTP -------------------------------------------------------------------------

Call = Callable[[httpx.Client, int], httpx.Response]


def token_call(key: dict[str, str]) -> Call:
    def call(client: httpx.Client, n: int) -> httpx.Response:
        return client.post(
            "/v1/tokens/create",
            json={"room": ROOM, "identity": f"user-{n}", "ttl_seconds": int(TTL.total_seconds())},
            headers=key,
        )

    return call


def health(client: httpx.Client, n: int) -> httpx.Response:
    return client.get("/health")


@contextmanager
def connections(url: str, count: int) -> Iterator[list[httpx.Client]]:
    made = [httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_SECONDS) for _ in range(count)]
    try:
        yield made
    finally:
        for client in made:
            client.close()


def load(url: str, call: Call, expected: int, result: Result, requests: int, cap: float) -> None:
    """``requests`` calls shared by ``result.clients`` threads; none starts after ``cap`` s."""
    counter = [0]
    lock = threading.Lock()
    stop = threading.Event()

    def take() -> int | None:
        with lock:
            if counter[0] >= requests or stop.is_set():
                return None
            counter[0] += 1
            return counter[0]

    def run(client: httpx.Client, deadline: float) -> None:
        while (n := take()) is not None and time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                status = str(call(client, n).status_code)
            except httpx.HTTPError as error:
                status = type(error).__name__
            elapsed = time.perf_counter() - started
            with lock:
                if status == str(expected):
                    result.latencies.append(elapsed)
                else:
                    result.failures[status] += 1
                    if status == "429":
                        stop.set()

    with connections(url, result.clients) as made:
        for client in made:  # Open every connection before the clock starts.
            health(client, 0)
        started = time.perf_counter()
        threads = [
            threading.Thread(target=run, args=(client, started + cap), daemon=True)
            for client in made
        ]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():  # Short joins let Ctrl-C through.
                    thread.join(0.2)
        finally:
            stop.set()
        result.seconds = time.perf_counter() - started
    if result.failures["429"]:
        raise RuntimeError(RATE_LIMITED)


def over_http(url: str, key: dict[str, str], args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []

    def case(name: str, call: Call, expected: int, clients: int, requests: int) -> None:
        result = Result(name, clients)
        load(url, call, expected, result, requests, args.max_seconds)
        print(f"  {result.summary()}", flush=True)
        results.append(result)

    mint_token = token_call(key)
    load(url, mint_token, 201, Result("warm-up", 1), WARM_UP, args.max_seconds)
    for clients in args.concurrency:
        case("POST /v1/tokens/create (project key)", mint_token, 201, clients, args.requests)
    case("reference: GET /health (no database)", health, 200, 1, REFERENCE_REQUESTS)
    return results


# -- in process ------------------------------------------------------------------------


def raw_access_token(endpoint: RegionEndpoint, n: int) -> str:
    """What ``pulse.livekit.tokens.mint`` asks of livekit-api, without Pulse around it."""
    return (
        AccessToken(endpoint.api_key, endpoint.api_secret.get_secret_value())
        .with_identity(f"user-{n}")
        .with_ttl(TTL)
        .with_grants(VideoGrants(room_join=True, room=f"p_bench_{ROOM}"))
        .to_jwt()
    )


def in_process(settings: Settings, count: int) -> list[Minting]:
    endpoint = RegionEndpoint(
        url=settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret,
    )
    region = Region(CATALOG["eu-west"], endpoint)

    def pulse_mint(n: int) -> str:
        request = TokenRequest(
            livekit_room=f"p_bench_{ROOM}",
            identity=f"user-{n}",
            name=None,
            metadata=None,
            attributes={},
            grants=RoomGrants(),
            ttl=TTL,
        )
        return mint(region, request, datetime.now(UTC)).jwt

    results = []
    for name, make in (
        ("livekit-api AccessToken(...).to_jwt()", lambda n: raw_access_token(endpoint, n)),
        ("pulse.livekit.tokens.mint (what the route calls)", pulse_mint),
    ):
        for n in range(min(count, 500)):  # Warm-up.
            make(n)
        started = time.perf_counter()
        for n in range(count):
            make(n)
        minted = Minting(name, count, time.perf_counter() - started)
        print(f"  {minted.row()}", flush=True)
        results.append(minted)
    return results


# -- the run ---------------------------------------------------------------------------


def measure(args: argparse.Namespace, settings: Settings, token: str) -> list[Result]:
    with tempfile.TemporaryDirectory() as log_dir:
        processes = None if args.url else Processes(settings, token, Path(log_dir))
        try:
            if processes is not None:
                processes.env["PULSE_RATE_LIMIT_PROJECT_REQUESTS"] = "0"
                processes.start()
                print(f"  API {processes.url}, worker, database {processes.database}")
                url = processes.url
            else:
                url = loopback_only(args.url)
            tenant = sign_up(url, token)
            key = project_key(tenant, token)
            results = over_http(url, key, args)
            if processes is not None:
                processes.check_alive()
        finally:
            # A second Ctrl-C must not cut the (bounded) clean-up short.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            if processes is not None:
                processes.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="token requests per case")
    parser.add_argument(
        "--concurrency",
        type=client_counts,
        default=[1, 8],
        help="concurrent clients, comma-separated (default 1,8)",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=60.0, help="wall-time cap per HTTP case (60)"
    )
    parser.add_argument("--mints", type=int, default=20_000, help="in-process mints per case")
    parser.add_argument("--url", help=f"an API already running on {LOOPBACK} (rate limits off)")
    args = parser.parse_args()
    if args.url:
        loopback_only(args.url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # PyJWT warns on every mint with the dev secret ("secret", 6 bytes): noise, not cost.
    warnings.filterwarnings("ignore", message="The HMAC key is")
    settings = Settings()
    token = uuid.uuid4().hex[:12]
    print(
        f"# Token benchmark (Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"livekit-api {version('livekit-api')})\n"
    )
    started = time.monotonic()
    print("In process:")
    minting = in_process(settings, args.mints)
    print("Over HTTP:")
    results = guarded(lambda: measure(args, settings, token))
    print(
        "\n| case | clients | requests | errors | p50 ms | p99 ms | max ms | tokens/s |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    for result in results:
        print(result.row())
    print("\n| in process | tokens | seconds | tokens/s | µs/token |\n|---|---:|---:|---:|---:|")
    for minted in minting:
        print(minted.row())
    print(f"\nTotal run time: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
