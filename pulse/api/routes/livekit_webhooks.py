"""``POST /v1/webhooks/livekit``: where LiveKit reports rooms, participants and tracks.

Authenticated by LiveKit's own signature (no user, no project key), and exactly-once
by the webhook's event id (no ``Idempotency-Key``). Answers 200 for anything signed
that Pulse does not need, so LiveKit does not retry it; 401 for a bad signature; 503
when the event could not be recorded now, so that LiveKit retries.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from pulse.api.auth import request_context
from pulse.api.dependencies import ClientsDep, SettingsDep, get_pulse
from pulse.api.openapi import problem_responses
from pulse.api.problems import Problem
from pulse.domain.context import ActorKind
from pulse.livekit.errors import MediaUnavailableError
from pulse.logging import get_logger
from pulse.projections.wakeup import wake_projections
from pulse.services.clock import utc_now
from pulse.services.errors import ConflictError
from pulse.services.webhooks.bans import enforce_ban
from pulse.services.webhooks.intake import Outcome, record_webhook, verify_webhook

log = get_logger(__name__)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

LIVEKIT_ACTOR = "livekit"


class WebhookAck(BaseModel):
    outcome: Outcome = Field(
        description="What Pulse did with the event; every one of them is final."
    )
    removed_banned_participant: bool = False


@router.post(
    "/livekit",
    response_model=WebhookAck,
    summary="LiveKit's webhooks (signed by LiveKit; not for API clients)",
    responses=problem_responses(
        (HTTPStatus.UNAUTHORIZED, Problem),
        (HTTPStatus.UNPROCESSABLE_ENTITY, Problem),
        (HTTPStatus.SERVICE_UNAVAILABLE, Problem),
    ),
)
async def livekit_webhook(
    request: Request, clients: ClientsDep, settings: SettingsDep
) -> WebhookAck:
    received_at = utc_now()
    body = await request.body()
    verified = verify_webhook(body, request.headers.get("Authorization"), clients.livekit.regions)
    app = get_pulse(request)
    context = request_context(request, settings, ActorKind.SYSTEM, LIVEKIT_ACTOR)
    try:
        result = await run_in_threadpool(record_webhook, app, verified, received_at, context)
    except ConflictError as error:
        # Contention that outlasted the retries: LiveKit retries a 503, not a 409.
        raise MediaUnavailableError("The webhook could not be recorded now; retry") from error
    if result.outcome is Outcome.RECORDED:
        await wake_projections(clients)
    removed = False
    if result.delivery is not None:
        # Also on a duplicate: the first delivery may have failed at this very step.
        removed = await enforce_ban(
            app, clients.livekit, verified.region_code, result.delivery, context
        )
    log.info(
        "livekit_webhook",
        livekit_event=verified.event.event,
        livekit_event_id=verified.event.id,
        outcome=str(result.outcome),
    )
    return WebhookAck(outcome=result.outcome, removed_banned_participant=removed)
