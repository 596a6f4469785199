"""Worker start-up and shut-down: the same clients as the API, for jobs to share."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from pulse.clients import open_clients
from pulse.config import get_settings
from pulse.logging import get_logger
from pulse.projections.options import ProjectionSettings
from pulse.services.provider import ApplicationProvider
from pulse.workers.blocking import track_blocking_work, wait_for_blocking_work
from pulse.workers.context import (
    CLIENTS_KEY,
    PROJECTION_SETTINGS_KEY,
    PROVIDER_KEY,
    SETTINGS_KEY,
    JobContext,
    settings_of,
)

log = get_logger(__name__)

_EXIT_STACK_KEY = "_pulse_exit_stack"
SHUTDOWN_WAIT_SECONDS = 30.0
"""How long shut-down waits for the threads of cancelled jobs before closing clients."""


async def startup(ctx: JobContext) -> None:
    # Settings come in ctx when the worker was built for explicit settings (tests,
    # the CLI); `arq pulse.workers.settings.WorkerSettings` falls back to the env.
    ctx.setdefault(SETTINGS_KEY, get_settings())
    ctx.setdefault(PROJECTION_SETTINGS_KEY, ProjectionSettings())
    track_blocking_work(ctx)
    settings = settings_of(ctx)
    stack = AsyncExitStack()
    ctx[CLIENTS_KEY] = await stack.enter_async_context(
        open_clients(settings, app_name="pulse-worker")
    )
    # Built lazily (the first job touches MongoDB, not start-up), closed in a thread
    # because closing joins the event store's background threads.
    provider = ApplicationProvider(settings)
    stack.push_async_callback(asyncio.to_thread, provider.close)
    ctx[PROVIDER_KEY] = provider
    ctx[_EXIT_STACK_KEY] = stack
    log.info("worker_started", queue=settings.worker_queue_name)


async def shutdown(ctx: JobContext) -> None:
    # Threads of jobs arq cancelled still use the clients: let them finish first.
    await wait_for_blocking_work(ctx, SHUTDOWN_WAIT_SECONDS)
    stack: AsyncExitStack | None = ctx.pop(_EXIT_STACK_KEY, None)
    ctx.pop(CLIENTS_KEY, None)
    ctx.pop(PROVIDER_KEY, None)
    if stack is not None:
        await stack.aclose()
    log.info("worker_stopped")
