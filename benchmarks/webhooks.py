"""Webhooks to customers: deliveries per second to a local receiver, and the time from
an event's commit to its receipt.

Starts its own ``pulse migrate``, ``pulse api`` and ``pulse worker`` on throwaway state
(``benchmarks/api.py``'s process handling), with ``PULSE_WEBHOOK_ALLOW_LOOPBACK=true``
so endpoints on 127.0.0.1 are allowed (the delivery client still goes through the SSRF
guard). A receiver (a threaded HTTP server on 127.0.0.1) verifies every delivery's
Standard Webhooks signature and records when it arrived. Over the API the script signs
up a user, creates an organization, ``--projects`` projects and one endpoint per
project (event type ``project.updated``); the events are project renames
(``PUT /v1/projects/{id}``), one thread per project.

Two cases, ``--events`` events each:

- **steady**: events are generated while the worker runs, ``--rate`` per second in
  all (0: as fast as the API commits them). The latency of each delivery
  is its receipt time minus the event's commit time (the domain event's timestamp,
  the body's ``timestamp``, same host clock): fan-out cron, projections, the send job,
  signing and the POST. Throughput is deliveries / (last receipt - first commit),
  so it is bounded by the event rate.
- **backlog**: the worker is stopped, the events are committed, the worker is started
  again: deliveries per second from the first receipt to the last, the rate at which
  one worker drains a backlog (fan-out pages, one job per delivery).

Every case stops by itself once every delivery has arrived or after ``--max-seconds``.
At the end (also on Ctrl-C, SIGTERM or an error) the processes are stopped and the
database and Redis keys removed.

Usage (services running, e.g. after ``make services``)::

    uv run python benchmarks/webhooks.py [--events 100] [--projects 4] [--rate 2]
                                         [--max-seconds 150] [--log-dir DIR]

Run as a script (it imports ``benchmarks/api.py`` as ``api``). Prints a Markdown table;
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
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from api import Processes, Tenant, checked, guarded, percentile_ms, reap, sign_up
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from pulse.config import Settings

REQUEST_TIMEOUT_SECONDS = 30.0


# -- the receiver ------------------------------------------------------------------------


class Receiver:
    """Records (webhook-id, event timestamp, receipt time) of every verified delivery."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.secrets: dict[str, str] = {}
        """Path -> secret: one path per endpoint."""
        self.arrivals: dict[str, tuple[float, float]] = {}
        """webhook-id -> (event commit, first receipt), epoch seconds."""
        self.duplicates = 0
        self.invalid = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                received = time.time()
                receiver.record(self.path, dict(self.headers.items()), body, received)
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def record(self, path: str, headers: dict[str, str], body: bytes, received: float) -> None:
        try:
            payload = Webhook(self.secrets[path]).verify(body, headers)
        except (KeyError, WebhookVerificationError):
            with self.lock:
                self.invalid += 1
            return
        committed = datetime.fromisoformat(payload["timestamp"].replace("Z", "+00:00"))
        message_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        with self.lock:
            if message_id in self.arrivals:
                self.duplicates += 1
            else:
                self.arrivals[message_id] = (committed.timestamp(), received)

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def snapshot(self) -> list[tuple[float, float]]:
        with self.lock:
            return list(self.arrivals.values())

    def reset(self) -> None:
        with self.lock:
            self.arrivals.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the tenant ----------------------------------------------------------------------------


@dataclass
class Project:
    id: str
    renames: int = 0


def set_up(tenant: Tenant, receiver: Receiver, count: int, token: str) -> list[Project]:
    projects: list[Project] = []
    with httpx.Client(base_url=tenant.url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
        for n in range(count):
            created = checked(
                client.post(
                    "/v1/projects",
                    json={
                        "organization_id": tenant.organization_id,
                        "name": f"bench-hooks-{token}-{n}",
                        "region": "eu-west",
                    },
                    headers=tenant.headers,
                ),
                201,
            )
            project_id = created["project"]["id"]
            path = f"/hook/{n}"
            endpoint = checked(
                client.post(
                    f"/v1/projects/{project_id}/webhooks/endpoints",
                    json={"url": receiver.url(path), "event_types": ["project.updated"]},
                    headers=tenant.headers,
                ),
                201,
            )
            receiver.secrets[path] = endpoint["secret"]
            projects.append(Project(project_id))
    return projects


def rename_all(
    tenant: Tenant, projects: list[Project], events: int, rate: float = 0.0
) -> list[str]:
    """``events`` renames shared by one thread per project, ``rate`` per second in all
    (0: as fast as the API answers); returns the failures."""
    failures: list[str] = []
    lock = threading.Lock()
    share = [
        events // len(projects) + (1 if i < events % len(projects) else 0)
        for i in range(len(projects))
    ]

    interval = len(projects) / rate if rate > 0 else 0.0
    started = time.monotonic()

    def run(project: Project, n: int) -> None:
        with httpx.Client(base_url=tenant.url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
            for k in range(n):
                pause = started + k * interval - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                project.renames += 1
                response = client.put(
                    f"/v1/projects/{project.id}",
                    json={"name": f"bench-{project.id[:8]}-{project.renames}"},
                    headers=tenant.headers,
                )
                if response.status_code != 200:
                    with lock:
                        failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [
        threading.Thread(target=run, args=(project, n))
        for project, n in zip(projects, share, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


# -- measuring -----------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    events: int
    arrivals: list[tuple[float, float]] = field(default_factory=list)
    failures: int = 0
    rate_window: tuple[float, float] = (0.0, 0.0)

    @property
    def latencies(self) -> list[float]:
        return sorted(received - committed for committed, received in self.arrivals)

    def ms(self, q: int | None) -> str:
        return percentile_ms(self.latencies, q, digits=0)

    @property
    def rate(self) -> str:
        start, end = self.rate_window
        return f"{len(self.arrivals) / (end - start):,.1f}" if end > start else "-"

    def row(self) -> str:
        return (
            f"| {self.name} | {self.events:,} | {len(self.arrivals):,} | {self.failures} "
            f"| {self.rate} | {self.ms(50)} | {self.ms(99)} | {self.ms(None)} |"
        )


def wait_for_deliveries(receiver: Receiver, expected: int, cap: float) -> None:
    deadline = time.monotonic() + cap
    while receiver.count() < expected and time.monotonic() < deadline:
        time.sleep(0.05)


def steady(tenant: Tenant, receiver: Receiver, projects: list[Project], args: Any) -> Case:
    receiver.reset()
    pace = f"{args.rate:g} events/s" if args.rate > 0 else "as fast as the API commits"
    case = Case(f"steady, worker running, {pace}", args.events)
    failures = rename_all(tenant, projects, args.events, args.rate)
    wait_for_deliveries(receiver, args.events - len(failures), args.max_seconds)
    case.arrivals = receiver.snapshot()
    case.failures = len(failures)
    if case.arrivals:
        case.rate_window = (
            min(c for c, _ in case.arrivals),
            max(r for _, r in case.arrivals),
        )
    return case


def backlog(
    tenant: Tenant, receiver: Receiver, projects: list[Project], processes: Processes, args: Any
) -> Case:
    receiver.reset()
    case = Case("backlog, worker started after the events", args.events)
    stop_worker(processes)
    failures = rename_all(tenant, projects, args.events)
    start_worker(processes)
    wait_for_deliveries(receiver, args.events - len(failures), args.max_seconds)
    case.arrivals = receiver.snapshot()
    case.failures = len(failures)
    if case.arrivals:
        case.rate_window = (
            min(r for _, r in case.arrivals),
            max(r for _, r in case.arrivals),
        )
    return case


def stop_worker(processes: Processes) -> None:
    worker = processes.running["worker"]
    worker.send_signal(signal.SIGINT)
    reap(worker, timeout=30)


def start_worker(processes: Processes) -> None:
    processes.spawn("worker", "worker", log_mode="ab")


def measure(args: argparse.Namespace, settings: Settings, token: str) -> list[Case]:
    receiver = Receiver()
    with tempfile.TemporaryDirectory() as temporary:
        log_dir = Path(args.log_dir) if args.log_dir else Path(temporary)
        log_dir.mkdir(parents=True, exist_ok=True)
        processes = Processes(settings, token, log_dir)
        processes.env["PULSE_WEBHOOK_ALLOW_LOOPBACK"] = "true"
        processes.env["PULSE_LOG_LEVEL"] = "INFO" if args.log_dir else "WARNING"
        # The backlog case stops the worker; one stopped in the middle of a projection
        # run leaves that projection's lock, which its successor breaks once stale.
        processes.env["PULSE_PROJECTIONS_LOCK_STALE_SECONDS"] = "10"
        try:
            processes.start()
            print(f"  API {processes.url}, worker, database {processes.database}")
            tenant = sign_up(processes.url, token)
            projects = set_up(tenant, receiver, args.projects, token)
            # Let the worker project the endpoints before the first event.
            time.sleep(3)
            cases = [steady(tenant, receiver, projects, args)]
            processes.check_alive()
            cases.append(backlog(tenant, receiver, projects, processes, args))
            processes.check_alive()
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            processes.close()
            receiver.close()
    print(
        f"  invalid signatures: {receiver.invalid}, repeats of a webhook-id: {receiver.duplicates}"
    )
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100, help="events per case")
    parser.add_argument("--projects", type=int, default=4, help="projects (one endpoint each)")
    parser.add_argument(
        "--max-seconds", type=float, default=150.0, help="cap on the wait for deliveries"
    )
    parser.add_argument(
        "--rate", type=float, default=2.0, help="events/s in the steady case (0: unpaced)"
    )
    parser.add_argument("--log-dir", help="keep the processes' logs (at INFO) in this directory")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings = Settings()
    token = uuid.uuid4().hex[:12]
    print(f"# Webhooks benchmark ({platform.python_version()}, {os.cpu_count()} CPUs)\n")
    started = time.monotonic()
    cases = guarded(lambda: measure(args, settings, token))
    print(
        "\n| case | events | delivered | failed requests | deliveries/s | p50 ms | p99 ms "
        "| max ms |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    for case in cases:
        print(case.row())
    print(f"\nTotal run time: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
