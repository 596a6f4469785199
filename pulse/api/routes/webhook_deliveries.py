"""The delivery log of a project's webhook endpoints: list, inspect, stats, resend, replay.

Lists and stats come from the read models (eventually consistent, like every list);
one delivery comes from its aggregate, with its attempts from the read model.
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from fastapi import APIRouter, Request

from pulse.api.auth import CurrentUser, command_context
from pulse.api.commands import run_command, run_query
from pulse.api.delivery_schemas import (
    DeliveryDetailOut,
    DeliveryOut,
    EndpointStatsOut,
    ReplayIn,
    ReplayOut,
)
from pulse.api.dependencies import ClientsDep, PulseDep
from pulse.api.management_schemas import Page
from pulse.api.openapi import problem_responses
from pulse.api.pagination import Cursor, Limit, from_document, page_of
from pulse.api.problems import Problem
from pulse.domain.webhook_delivery import DeliveryStatus
from pulse.queries.webhook_deliveries import attempts_of, endpoint_stats, list_deliveries
from pulse.services import delivery_log
from pulse.services.deliveries.queue import enqueue_due

router = APIRouter(prefix="/v1/projects/{project_id}/webhooks", tags=["webhooks"])

_READ = problem_responses((401, Problem), (404, Problem))  # Every role reads.
_WRITE = problem_responses((401, Problem), (403, Problem), (404, Problem), (409, Problem))


def replay_settings(request: Request) -> delivery_log.ReplaySettings:
    """From the app's state if set (tests), else ``PULSE_WEBHOOK_REPLAY_*``, read once."""
    state = request.app.state
    if getattr(state, "webhook_replay_settings", None) is None:
        state.webhook_replay_settings = delivery_log.ReplaySettings()
    return cast(delivery_log.ReplaySettings, state.webhook_replay_settings)


@router.get(
    "/endpoints/{endpoint_id}/deliveries",
    response_model=Page[DeliveryOut],
    summary="Deliveries of an endpoint, oldest first (eventually consistent)",
    responses=_READ,
)
async def list_(
    project_id: UUID,
    endpoint_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    status: DeliveryStatus | None = None,
) -> Page[DeliveryOut]:
    await run_query(delivery_log.check_endpoint, app, project_id, user.user_id, endpoint_id)
    found = await list_deliveries(
        clients.database,
        str(project_id),
        str(endpoint_id),
        status=None if status is None else str(status),
        limit=limit,
        cursor=cursor,
    )
    return page_of(found, DeliveryOut)


@router.get(
    "/endpoints/{endpoint_id}/stats",
    response_model=EndpointStatsOut,
    summary="How an endpoint's deliveries fare: counts, success rate, latency",
    responses=_READ,
)
async def stats(
    project_id: UUID, endpoint_id: UUID, user: CurrentUser, app: PulseDep, clients: ClientsDep
) -> dict[str, Any]:
    await run_query(delivery_log.check_endpoint, app, project_id, user.user_id, endpoint_id)
    found = await endpoint_stats(clients.database, str(project_id), str(endpoint_id))
    return {
        "endpoint_id": str(endpoint_id),
        "total": found["total"],
        "by_status": found["deliveries"],
        "success_rate": found["success_rate"],
        "attempts": found["attempts"],
        "latency_ms": {"p50": found["latency_ms_p50"], "p99": found["latency_ms_p99"]},
        "last_success_at": found["last_success_at"],
        "last_failure_at": found["last_failure_at"],
    }


@router.get(
    "/deliveries/{delivery_id}",
    response_model=DeliveryDetailOut,
    summary="One delivery: the body sent and every attempt with its answer",
    responses=_READ,
)
async def get(
    project_id: UUID, delivery_id: UUID, user: CurrentUser, app: PulseDep, clients: ClientsDep
) -> dict[str, Any]:
    delivery = await run_query(
        delivery_log.get_delivery, app, project_id, user.user_id, delivery_id
    )
    attempts = await attempts_of(clients.database, str(project_id), str(delivery_id))
    return {**delivery, "attempt_log": [from_document(attempt) for attempt in attempts]}


@router.post(
    "/deliveries/{delivery_id}/resend",
    response_model=DeliveryOut,
    summary="Send a finished delivery again, with the same webhook-id",
    responses=_WRITE,
)
async def resend(
    project_id: UUID,
    delivery_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    request: Request,
) -> dict[str, Any]:
    delivery = await run_command(
        request,
        delivery_log.resend,
        app,
        project_id,
        user.user_id,
        delivery_id,
        command_context(request, user),
    )
    # Saved as due first: if this enqueue is lost, the sender's sweep still finds it.
    await enqueue_due(
        clients.arq, delivery_id, delivery["next_attempt_at"], round_no=delivery["round"]
    )
    return delivery


@router.post(
    "/endpoints/{endpoint_id}/replay",
    response_model=ReplayOut,
    summary="Send the endpoint every event since a time it did not receive successfully",
    responses=_WRITE,
)
async def replay(
    project_id: UUID,
    endpoint_id: UUID,
    body: ReplayIn,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    request: Request,
) -> dict[str, Any]:
    report = await run_command(
        request,
        delivery_log.replay,
        app,
        project_id,
        user.user_id,
        endpoint_id,
        body.since,
        replay_settings(request),
        command_context(request, user),
    )
    for due, round_no in report.due:
        await enqueue_due(clients.arq, due, report.at, round_no=round_no)
    return report.as_dict()
