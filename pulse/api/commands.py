"""Running a service-layer command from an async route.

The service layer is synchronous (the event store uses PyMongo's sync API), so the
command runs in the threadpool; once it has committed, the projections are woken so
that lists catch up quickly (a lost wake-up only delays: a schedule catches up too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from pulse.api.dependencies import get_clients
from pulse.projections.wakeup import wake_projections

P = ParamSpec("P")
T = TypeVar("T")


async def run_command(
    request: Request, command: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    result = await run_in_threadpool(command, *args, **kwargs)
    await wake_projections(get_clients(request))
    return result


async def run_query(command: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """A read of the event store (authorization, single resources): no wake-up."""
    return await run_in_threadpool(command, *args, **kwargs)
