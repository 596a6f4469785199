"""Blocking work of jobs, in threads that the worker waits for before it shuts down.

A job that runs synchronous PyMongo code awaits a thread. When arq cancels the job
(the worker stops, or the job times out) the thread cannot be cancelled: it runs on.
If shut-down then closed the clients under it, the thread would fail half-way and
leave what it holds behind (a projection's lock stalls that projection for
``PULSE_PROJECTIONS_LOCK_STALE_SECONDS``). So that work is shielded from the
cancellation and shut-down waits for it, bounded, before closing anything.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from pulse.logging import get_logger
from pulse.workers.context import JobContext

log = get_logger(__name__)

T = TypeVar("T")

_IN_FLIGHT_KEY = "_pulse_blocking_work"


def track_blocking_work(ctx: JobContext) -> None:
    """At start-up: arq gives each job a *copy* of the worker's context, so the set
    must exist before the copies are made for them all to share it."""
    ctx.setdefault(_IN_FLIGHT_KEY, set())


def _in_flight(ctx: JobContext) -> set[asyncio.Future[Any]]:
    found: set[asyncio.Future[Any]] = ctx.setdefault(_IN_FLIGHT_KEY, set())
    return found


async def run_blocking(
    ctx: JobContext, work: Callable[[], T], *, stop: threading.Event | None = None
) -> T:
    """``work()`` in a thread; a cancelled caller leaves it to finish, tracked.

    ``stop`` is set when the caller is cancelled: long work that checks it between
    steps (the projection passes) ends at the next step instead of running on while
    shut-down waits for it.
    """
    future: asyncio.Future[T] = asyncio.get_running_loop().run_in_executor(None, work)
    in_flight = _in_flight(ctx)
    in_flight.add(future)
    future.add_done_callback(in_flight.discard)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        if stop is not None:
            stop.set()
        raise


async def wait_for_blocking_work(ctx: JobContext, seconds: float) -> None:
    """Let the threads of cancelled jobs finish (at most ``seconds``)."""
    in_flight = set(_in_flight(ctx))
    if not in_flight:
        return
    log.info("worker_waiting_for_blocking_work", threads=len(in_flight))
    _, unfinished = await asyncio.wait(in_flight, timeout=seconds)
    for future in in_flight - unfinished:
        if not future.cancelled() and future.exception() is not None:
            log.warning("blocking_work_failed", error=repr(future.exception()))
    if unfinished:
        log.warning("worker_stopped_with_blocking_work", threads=len(unfinished))
