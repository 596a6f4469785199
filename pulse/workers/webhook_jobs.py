"""Jobs of webhooks to customers: the fan-out, one job per send attempt, the sweeper.

Wiring (in ``pulse.workers.settings``): ``deliver_webhook`` (no kept result, see
``pulse.services.deliveries.queue``), ``fan_out_webhooks`` and
``sweep_due_deliveries`` in ``FUNCTIONS``; ``webhook_crons(settings)`` in the crons.

- ``fan_out_webhooks`` runs on its own cron, every ``FANOUT_INTERVAL_SECONDS``: it
  first catches up the two projections it reads (endpoints, projects; skipped at once
  if another runner has them), then creates the deliveries of every new customer
  event and enqueues their first attempts. Its own cron, rather than a ride on
  ``run_projections``, keeps the time from an event to its delivery near a second
  without touching the projection jobs.
- ``sweep_due_deliveries`` every 15 s re-enqueues what is due according to the read
  model (pending and overdue, or sending with an expired claim), so a lost job, a dead
  worker or a crash between a save and an enqueue delays a delivery, never loses it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import cast
from uuid import UUID

import httpx
from arq.cron import CronJob, cron

from pulse.config import Settings
from pulse.domain.webhook_delivery import DeliveryStatus, WebhookDelivery
from pulse.logging import get_logger
from pulse.outbound.resolver import Resolver
from pulse.projections.collections import WEBHOOK_DELIVERIES
from pulse.projections.registry import projection_named
from pulse.projections.runner import catch_up
from pulse.projections.store import read_model_database
from pulse.projections.wakeup import wake_projections
from pulse.services.clock import utc_now
from pulse.services.deliveries.fanout import SOURCES, fan_out
from pulse.services.deliveries.queue import enqueue_due, enqueue_next
from pulse.services.deliveries.sender import Sender, delivery_client
from pulse.workers.blocking import run_blocking
from pulse.workers.context import (
    JobContext,
    clients_of,
    projection_settings_of,
    provider_of,
    settings_of,
)
from pulse.workers.lifecycle import _EXIT_STACK_KEY  # Closed at shut-down.

log = get_logger(__name__)

FANOUT_INTERVAL_SECONDS = 1
SWEEP_INTERVAL_SECONDS = 15
SWEEP_GRACE_SECONDS = 15
"""A pending delivery is swept only once overdue by this much: until then its own job
(enqueued with its due time) is the one expected to send it."""
SWEEP_BATCH = 1000
"""At most this many deliveries of each kind per sweep; the next sweep takes the rest."""

CLIENT_KEY = "webhook_client"
RESOLVER_KEY = "webhook_resolver"
"""Tests may put a ``Resolver`` here (and an inner transport factory under
``INNER_TRANSPORT_KEY``) before the first delivery; production uses the system's."""
INNER_TRANSPORT_KEY = "webhook_inner_transport"


def webhook_client(ctx: JobContext) -> httpx.AsyncClient:
    """The worker's delivery client (one pool of connections), built on first use."""
    client = ctx.get(CLIENT_KEY)
    if client is None:
        client = ctx[CLIENT_KEY] = delivery_client(
            settings_of(ctx),
            cast(Resolver | None, ctx.get(RESOLVER_KEY)),
            ctx.get(INNER_TRANSPORT_KEY),
        )
        stack = ctx.get(_EXIT_STACK_KEY)
        if stack is not None:
            stack.push_async_callback(client.aclose)
    return cast(httpx.AsyncClient, client)


async def deliver_webhook(ctx: JobContext, delivery_id: str) -> str:
    """One attempt of a delivery, if one is due; enqueues the next one if it failed."""
    clients = clients_of(ctx)
    app = await asyncio.to_thread(provider_of(ctx).get)
    sent = await Sender(app, settings_of(ctx), webhook_client(ctx)).send(UUID(delivery_id))
    if sent.delivery is not None and sent.result in ("failed", "not_due"):
        # "not_due": a claim still running elsewhere or a retry not yet due: make sure
        # its job exists (a no-op if it does).
        await enqueue_next(clients.arq, sent.delivery)
    if sent.result not in ("not_due", "missing", "claimed_elsewhere"):
        await wake_projections(clients)
    return sent.result


async def fan_out_webhooks(ctx: JobContext) -> int:
    """Create the deliveries of new customer events; returns how many were created."""
    provider = provider_of(ctx)
    settings = settings_of(ctx)
    options = projection_settings_of(ctx)

    def run() -> list[WebhookDelivery]:
        app = provider.get()
        database = read_model_database(app)
        for name in SOURCES:
            catch_up(projection_named(name), app, database, settings, options)
        return list(fan_out(app, database, settings, options).created)

    created = await run_blocking(ctx, run)
    clients = clients_of(ctx)
    for delivery in created:
        await enqueue_next(clients.arq, delivery)
    if created:
        await wake_projections(clients)
    return len(created)


async def sweep_due_deliveries(ctx: JobContext) -> int:
    """Enqueue every attempt the read model says is due; returns how many were enqueued."""
    clients = clients_of(ctx)
    collection = clients.database[WEBHOOK_DELIVERIES]
    now = utc_now()
    overdue = now - timedelta(seconds=SWEEP_GRACE_SECONDS)
    due = [
        *await collection.find(
            {"status": str(DeliveryStatus.PENDING), "next_attempt_at": {"$lte": overdue}}
        )
        .limit(SWEEP_BATCH)
        .to_list(),
        *await collection.find(
            {"status": str(DeliveryStatus.SENDING), "claimed_until": {"$lte": now}}
        )
        .limit(SWEEP_BATCH)
        .to_list(),
    ]
    enqueued = 0
    # One job per attempt and sweep: a second sweep of the same attempt (the first's job
    # not yet run, or the read model behind) adds one more job, which finds nothing due
    # or loses the claim; never a second send.
    sweep = str(int(now.timestamp()) // SWEEP_INTERVAL_SECONDS)
    for document in due:
        if await enqueue_due(
            clients.arq,
            str(document["_id"]),
            None,
            round_no=int(document.get("round", 1)),
            attempt=int(document.get("attempts", 0)) + 1,
            suffix=f"swept:{sweep}",
        ):
            enqueued += 1
    if enqueued:
        log.info("webhook_deliveries_swept", enqueued=enqueued, due=len(due))
    return enqueued


def webhook_crons(settings: Settings) -> list[CronJob]:
    return [
        cron(
            fan_out_webhooks,
            # Job ids are global in Redis: name it after the queue, as wake-ups are.
            name=f"cron:{settings.worker_queue_name}:fan_out_webhooks",
            second=set(range(0, 60, FANOUT_INTERVAL_SECONDS)),
            unique=True,
            keep_result=0,
        ),
        cron(
            sweep_due_deliveries,
            name=f"cron:{settings.worker_queue_name}:sweep_due_deliveries",
            second=set(range(0, 60, SWEEP_INTERVAL_SECONDS)),
            unique=True,
            keep_result=0,
        ),
    ]
