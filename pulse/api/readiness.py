"""Readiness probes: can this process reach everything it needs, right now?"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pulse.api.schemas import CheckResult, Checks
from pulse.clients import Clients
from pulse.config import Settings
from pulse.logging import get_logger

log = get_logger(__name__)

Probe = Callable[[Clients], Awaitable[None]]
T = TypeVar("T")


class UnexpectedAnswerError(Exception):
    """The dependency answered, but not as a healthy one does."""


async def probe_mongodb(clients: Clients) -> None:
    await clients.mongo.admin.command("ping")


async def probe_redis(clients: Clients) -> None:
    if not await clients.redis.ping():
        raise UnexpectedAnswerError("PING did not return PONG")


async def probe_livekit(clients: Clients) -> None:
    # livekit-server answers its root path with a plain "OK" once it serves.
    response = await clients.livekit_http.get("/")
    if response.status_code != 200 or response.text.strip() != "OK":
        raise UnexpectedAnswerError(f"GET / answered HTTP {response.status_code}")


PROBES: dict[str, Probe] = {
    "mongodb": probe_mongodb,
    "redis": probe_redis,
    "livekit": probe_livekit,
}


def _discard_outcome(task: asyncio.Task[object]) -> None:
    if not task.cancelled():
        task.exception()  # Retrieved, so asyncio does not log it as never retrieved.


async def within(awaitable: Awaitable[T], seconds: float) -> tuple[bool, T | None]:
    """``(True, result)`` if it finished in time, else ``(False, None)``, promptly.

    ``asyncio.timeout`` alone is not enough: it cancels and then waits for the
    cancelled code to finish, and PyMongo's server selection can swallow a
    cancellation (seen with a server that went away mid-run) and keep waiting for its
    own 5 s server-selection timeout. Here the caller stops waiting either way; a
    straggler is cancelled and left to finish in the background. Its exception, if
    any, propagates when it finished in time.
    """
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        return True, task.result()
    task.cancel()
    task.add_done_callback(_discard_outcome)
    return False, None


async def run_probe(name: str, probe: Probe, clients: Clients, settings: Settings) -> CheckResult:
    timeout = settings.readiness_timeout_seconds
    started = time.perf_counter()
    error: str | None = None
    try:
        finished, _ = await within(probe(clients), timeout)
        if not finished:
            error = f"no answer within {timeout:g} s"
    except TimeoutError:  # The client's own timeout, shorter than ours.
        error = f"no answer within {timeout:g} s"
    except UnexpectedAnswerError as exc:
        error = str(exc)
    except Exception as exc:
        # The exception's text can name hosts and addresses: fine for the log, not
        # for an unauthenticated endpoint, which gets the class only.
        error = type(exc).__name__
        log.warning("readiness_check_failed", check=name, error=repr(exc))
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
    if error is None:
        return CheckResult(status="up", latency_ms=latency_ms)
    log.warning("readiness_check_down", check=name, error=error, latency_ms=latency_ms)
    return CheckResult(status="down", latency_ms=latency_ms, error=error)


async def check_dependencies(clients: Clients, settings: Settings) -> Checks:
    """Run every probe concurrently, so the answer comes within the readiness timeout."""
    results = await asyncio.gather(
        *(run_probe(name, probe, clients, settings) for name, probe in PROBES.items())
    )
    return Checks(**dict(zip(PROBES, results, strict=True)))
