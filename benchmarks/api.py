"""Management API: latency and throughput of a command and a query, and projection lag.

Measures, against a running Pulse API and worker, with 1 and 8 concurrent clients
(``--concurrency``) and ``--requests`` requests per case:

- ``POST /v1/projects`` (a command: a project and its first key): p50/p99 latency and
  throughput (completed requests / wall time);
- ``GET /v1/projects?organization_id=...`` (a query on the ``rm_projects`` read model),
  likewise, once while the organization is small and once after the creates;
- the projection lag: one create at a time, the time from the moment its response
  arrived until its project is in ``rm_projects``, polled directly with PyMongo every
  10 ms so that no API latency is counted; ``--lag-samples`` creates, once on the small
  store and once on the grown one. Each create follows the previous one's appearance
  at once, or after ``--lag-pause`` seconds;
- for reference, ``GET /health`` (no database) and ``GET /v1/auth/me`` (loads one
  aggregate from the event store), 1 client.

Every case writes to or reads one store that grows as the run goes (the creates add
projects and events), so the table gives the store's size at the start of each case;
each case starts once the worker has projected every project created before it.

By default the script starts its own processes, as ``make dev`` would, on throwaway
state: ``pulse migrate``, ``pulse api --port <free port>`` and ``pulse worker`` with
``PULSE_MONGO_DATABASE=pulse_bench_<random>``, ``PULSE_REDIS_KEY_PREFIX`` and
``PULSE_WORKER_QUEUE_NAME`` of their own, and ``PULSE_RATE_LIMIT_IP_REQUESTS=0``:
the per-IP rate limit (100 requests/min by default) is off, or every request after
the first 100 would get 429. At the end (also on Ctrl-C, SIGTERM or an error) it stops
them and drops the database and the Redis keys. With ``--url`` it uses an API and
worker already running (``make dev``) instead: that API must run with
``PULSE_RATE_LIMIT_IP_REQUESTS=0`` too; the script signs up a dedicated user and
organization there and leaves them behind, and reads the lag from the database that
``PULSE_MONGO_URI`` / ``PULSE_MONGO_DATABASE`` (or ``.env``) name.

Usage (services running, e.g. after ``make services``)::

    uv run python benchmarks/api.py [--requests 100] [--concurrency 1,8] [--lag-samples 25]
                                    [--lag-pause 0] [--url http://127.0.0.1:8000]

Prints a Markdown table; docs/performance.md records a run and the command.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import redis
from pymongo import MongoClient

from pulse.config import Settings

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "benchmark password, not a secret"
WARM_UP = 10
LAG_POLL_SECONDS = 0.01
LAG_TIMEOUT_SECONDS = 30.0
START_TIMEOUT_SECONDS = 90.0
REFERENCE_REQUESTS = 20
RATE_LIMITED = "429 Too Many Requests: run the API with PULSE_RATE_LIMIT_IP_REQUESTS=0"

T = TypeVar("T")


def percentile_ms(latencies: list[float], q: int | None, digits: int = 1) -> str:
    """The ``q``-th percentile (``statistics.quantiles``, inclusive), or the max, in ms."""
    if not latencies:
        return "-"
    if q is None or len(latencies) == 1:
        value = max(latencies) if q is None else latencies[0]
    else:
        value = statistics.quantiles(latencies, n=100, method="inclusive")[q - 1]
    return f"{value * 1000:,.{digits}f}"


def client_counts(text: str) -> list[int]:
    """``--concurrency``: concurrent clients, comma-separated."""
    return [int(n) for n in text.split(",")]


def guarded(measure: Callable[[], T]) -> T:
    """``measure()``; Ctrl-C and a ``RuntimeError`` end the script with a message."""
    try:
        return measure()
    except KeyboardInterrupt:
        print("\nInterrupted.")
        sys.exit(130)
    except RuntimeError as error:
        sys.exit(f"\nFailed: {error}")


@dataclass
class Result:
    case: str
    clients: int
    projects: int
    """Documents in ``rm_projects`` when the case started (every query scans them all)."""
    events: int
    """Events in the event store when the case started (every aggregate load scans them)."""
    seconds: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    """Failed requests by status code (or exception, or ``timeout`` for the lag)."""
    latencies: list[float] = field(default_factory=list)
    throughput: bool = True

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    def fail(self, reason: str) -> None:
        self.failures[reason] += 1

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def rate(self) -> str:
        if not self.throughput or not self.seconds:
            return "-"
        return f"{len(self.latencies) / self.seconds:,.1f}"

    def ms(self, q: int | None) -> str:
        return percentile_ms(self.latencies, q)

    def summary(self) -> str:
        return (
            f"{self.case}, {self.clients} client(s): p50 {self.ms(50)} ms, p99 {self.ms(99)} "
            f"ms, max {self.ms(None)} ms, {self.rate} requests/s, {self.errors} error(s)"
            + (f" {dict(self.failures)}" if self.failures else "")
        )

    def row(self) -> str:
        return (
            f"| {self.case} | {self.clients} | {self.projects:,} / {self.events:,} "
            f"| {self.requests:,} | {self.errors} | {self.ms(50)} | {self.ms(99)} "
            f"| {self.ms(None)} | {self.rate} |"
        )


# -- the processes under test ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Processes:
    """``pulse api`` and ``pulse worker`` on throwaway state; ``close`` removes it all."""

    def __init__(self, settings: Settings, token: str, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        self.settings = settings
        self.database = f"pulse_bench_{token}"
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "PULSE_MONGO_DATABASE": self.database,
            "PULSE_RATE_LIMIT_IP_REQUESTS": "0",
            "PULSE_REDIS_KEY_PREFIX": f"pulse:bench:{token}:",
            "PULSE_WORKER_QUEUE_NAME": f"pulse:bench:{token}",
        }
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "pulse.cli", *args]

    def start(self) -> None:
        migrate = subprocess.run(
            self.command("migrate"), env=self.env, cwd=ROOT, capture_output=True, check=False
        )
        if migrate.returncode:
            raise RuntimeError(f"pulse migrate failed:\n{migrate.stderr.decode()}")
        self.spawn("api", "api", "--host", "127.0.0.1", "--port", str(self.port))
        self.spawn("worker", "worker")
        self.wait_ready()

    def spawn(self, name: str, *args: str, log_mode: str = "wb") -> None:
        """``pulse <args>`` as ``name``, its output in ``<log_dir>/<name>.log``."""
        with (self.log_dir / f"{name}.log").open(log_mode) as log:
            # A session of its own: Ctrl-C reaches this script, which stops it.
            self.running[name] = subprocess.Popen(
                self.command(*args),
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if httpx.get(f"{self.url}/ready", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the API did not become ready in {START_TIMEOUT_SECONDS:.0f} s")

    def check_alive(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None:
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"pulse {name} exited ({process.returncode}):\n{tail}")

    def close(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.running.values():
            reap(process, timeout=15)
        mongo: MongoClient[dict[str, Any]]
        with MongoClient(self.settings.mongo_uri) as mongo:
            mongo.drop_database(self.database)
        with redis.Redis.from_url(self.settings.redis_url) as client:
            # The key prefix, the queue, arq's job, in-progress and cron keys all carry it.
            keys = list(client.scan_iter(match=f"*{self.token}*", count=1000))
            if keys:
                client.delete(*keys)


def reap(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait up to ``timeout`` s for ``process`` to exit, then kill it."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- the tenant ----------------------------------------------------------------------


@dataclass
class Tenant:
    url: str
    headers: dict[str, str]
    organization_id: str


def checked(response: httpx.Response, expected: int) -> dict[str, Any]:
    if response.status_code == 429:
        raise RuntimeError(RATE_LIMITED)
    if response.status_code != expected:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


def sign_up(url: str, token: str) -> Tenant:
    with httpx.Client(base_url=url, timeout=30.0) as client:
        session = checked(
            client.post(
                "/v1/auth/signup",
                json={
                    "email": f"bench-{token}@example.com",
                    "name": "Benchmark",
                    "password": PASSWORD,
                },
            ),
            201,
        )
        headers = {"Authorization": f"Bearer {session['access_token']}"}
        organization = checked(
            client.post(
                "/v1/organizations",
                json={"name": f"Benchmark {token}", "admin_email": "ops@example.com"},
                headers=headers,
            ),
            201,
        )
    return Tenant(url, headers, organization["id"])


def wait_for(find: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while find() is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not appear in {START_TIMEOUT_SECONDS:.0f} s")
        time.sleep(0.05)


# -- the measurements ----------------------------------------------------------------


def create_project(client: httpx.Client, tenant: Tenant) -> httpx.Response:
    return client.post(
        "/v1/projects",
        json={
            "organization_id": tenant.organization_id,
            "name": f"bench-{uuid.uuid4().hex[:8]}",
            "region": "eu-west",
        },
        headers=tenant.headers,
    )


def health(client: httpx.Client, tenant: Tenant) -> httpx.Response:
    return client.get("/health")


def me(client: httpx.Client, tenant: Tenant) -> httpx.Response:
    return client.get("/v1/auth/me", headers=tenant.headers)


def list_projects(client: httpx.Client, tenant: Tenant) -> httpx.Response:
    return client.get(
        "/v1/projects",
        params={"organization_id": tenant.organization_id},
        headers=tenant.headers,
    )


@contextmanager
def clients(tenant: Tenant, count: int) -> Iterator[list[httpx.Client]]:
    made = [httpx.Client(base_url=tenant.url, timeout=60.0) for _ in range(count)]
    try:
        yield made
    finally:
        for client in made:
            client.close()


def load(
    tenant: Tenant,
    call: Callable[[httpx.Client, Tenant], httpx.Response],
    expected: int,
    result: Result,
    requests: int,
) -> None:
    """``requests`` calls shared by ``result.clients`` threads, one connection each."""
    remaining = [requests]
    lock = threading.Lock()
    stop = threading.Event()

    def take() -> bool:
        with lock:
            remaining[0] -= 1
            return remaining[0] >= 0

    def run(client: httpx.Client) -> None:
        while not stop.is_set() and take():
            started = time.perf_counter()
            try:
                status = str(call(client, tenant).status_code)
            except httpx.HTTPError as error:
                status = type(error).__name__
            elapsed = time.perf_counter() - started
            with lock:
                if status == str(expected):
                    result.latencies.append(elapsed)
                else:
                    result.fail(status)
                    if status == "429":
                        stop.set()

    with clients(tenant, result.clients) as made:
        for client in made:  # Open every connection before the clock starts.
            list_projects(client, tenant)
        threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in made]
        started = time.perf_counter()
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():  # Short joins let Ctrl-C through.
                    thread.join(0.2)
        finally:
            stop.set()  # On Ctrl-C, the other threads stop too.
        result.seconds = time.perf_counter() - started
    if result.failures["429"]:
        raise RuntimeError(RATE_LIMITED)


def projection_lag(
    tenant: Tenant, projects: Any, samples: int, pause: float, result: Result
) -> int:
    """Create one project at a time; time from its response until it is in the read model.

    Returns the number of projects created.
    """
    created = 0
    with httpx.Client(base_url=tenant.url, timeout=60.0) as client:
        for _ in range(samples):
            time.sleep(pause)
            response = create_project(client, tenant)
            returned = time.perf_counter()
            if response.status_code != 201:
                result.fail(str(response.status_code))
                if response.status_code == 429:
                    raise RuntimeError(RATE_LIMITED)
                continue
            created += 1
            project_id = response.json()["project"]["id"]
            while projects.find_one({"_id": project_id}, {"_id": 1}) is None:
                if time.perf_counter() - returned > LAG_TIMEOUT_SECONDS:
                    result.fail("timeout")
                    break
                time.sleep(LAG_POLL_SECONDS)
            else:
                result.latencies.append(time.perf_counter() - returned)
    return created


def run(tenant: Tenant, database: Any, eventstore: str, args: argparse.Namespace) -> list[Result]:
    requests, concurrency = args.requests, args.concurrency
    projects = database["rm_projects"]
    events = database[f"{eventstore}_events"]
    results: list[Result] = []
    created = 0

    def settle() -> None:
        """Wait until the read model holds every project created so far."""
        deadline = time.monotonic() + LAG_TIMEOUT_SECONDS * 2
        query = {"organization_id": tenant.organization_id}
        while projects.count_documents(query) < created and time.monotonic() < deadline:
            time.sleep(0.1)

    def new(name: str, clients_: int, *, throughput: bool = True) -> Result:
        """A case that starts once the worker has caught up with the previous one."""
        settle()
        return Result(
            name,
            clients_,
            projects.estimated_document_count(),
            events.estimated_document_count(),
            throughput=throughput,
        )

    def report(result: Result) -> Result:
        print(f"  {result.summary()}", flush=True)
        results.append(result)
        return result

    def case(name: str, call: Any, expected: int, clients_: int, n: int) -> Result:
        result = new(name, clients_)
        load(tenant, call, expected, result, n)
        return report(result)

    def lag_case() -> None:
        nonlocal created
        result = new("projection lag (POST returned → in rm_projects)", 1, throughput=False)
        created += projection_lag(tenant, projects, args.lag_samples, args.lag_pause, result)
        report(result)

    warm = Result("warm-up", 1, 0, 0)
    load(tenant, create_project, 201, warm, WARM_UP)
    created += len(warm.latencies)
    load(tenant, list_projects, 200, Result("warm-up", 1, 0, 0), WARM_UP)
    lag_case()
    for clients_ in concurrency:
        case("list projects (GET)", list_projects, 200, clients_, requests)
    for clients_ in concurrency:
        result = case("create project (POST)", create_project, 201, clients_, requests)
        created += len(result.latencies)
    for clients_ in concurrency:
        case("list projects (GET)", list_projects, 200, clients_, requests)
    case("reference: GET /health (no database)", health, 200, 1, REFERENCE_REQUESTS)
    case("reference: GET /v1/auth/me (loads 1 aggregate)", me, 200, 1, REFERENCE_REQUESTS)
    lag_case()
    return results


def measure(args: argparse.Namespace, settings: Settings, token: str) -> list[Result]:
    mongo: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_uri)
    with tempfile.TemporaryDirectory() as log_dir:
        processes = None if args.url else Processes(settings, token, Path(log_dir))
        try:
            if processes is not None:
                processes.start()
                print(f"  API {processes.url}, worker, database {processes.database}")
            if processes is None:
                url, database = args.url.rstrip("/"), mongo[settings.mongo_database]
            else:
                url, database = processes.url, mongo[processes.database]
            tenant = sign_up(url, token)
            # The worker is up once it has projected the organization.
            wait_for(
                lambda: database["rm_organizations"].find_one({"_id": tenant.organization_id}),
                "the organization (is the worker running?)",
            )
            results = run(tenant, database, settings.eventstore_name, args)
            if processes is not None:
                processes.check_alive()
        finally:
            # Ctrl-C reaches uv and this script alike; a second one must not cut the
            # clean-up short (which is bounded: 15 s per process, then a kill).
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            if processes is not None:
                processes.close()
            mongo.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=100, help="requests per create and list case"
    )
    parser.add_argument(
        "--concurrency",
        type=client_counts,
        default=[1, 8],
        help="concurrent clients, comma-separated (default 1,8)",
    )
    parser.add_argument("--lag-samples", type=int, default=25, help="creates timed until visible")
    parser.add_argument(
        "--lag-pause", type=float, default=0.0, help="seconds between lag samples (default 0)"
    )
    parser.add_argument(
        "--url",
        help="an API already running (rate limit off) instead of processes of our own",
    )
    args = parser.parse_args()
    # SIGTERM cleans up as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings = Settings()
    token = uuid.uuid4().hex[:12]
    print(f"# Management API benchmark ({platform.python_version()}, {os.cpu_count()} CPUs)\n")
    started = time.monotonic()
    results = guarded(lambda: measure(args, settings, token))
    print(
        "\n| case | clients | projects / events in store | requests | errors | p50 ms | p99 ms "
        "| max ms | requests/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    for result in results:
        print(result.row())
    print(f"\nTotal run time: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
