"""LiveKit tokens for a project's rooms, exchanged for the project's API key."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from pulse.api.auth import CurrentProjectKey
from pulse.api.dependencies import ClientsDep, PulseDep, SettingsDep
from pulse.api.openapi import problem_responses
from pulse.api.problems import Problem
from pulse.api.rooms_schemas import TokenCreate, TokenIssued, TokenValidate, TokenValidation
from pulse.api.usage_problems import usage_limit_response, usage_limit_responses
from pulse.livekit.naming import livekit_room
from pulse.livekit.tokens import TokenRequest
from pulse.services import media_tokens
from pulse.services.usage_gate import UsageLimitReachedError

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])

_KEY = problem_responses((401, Problem), (403, Problem))


@router.post(
    "/create",
    status_code=HTTPStatus.CREATED,
    response_model=TokenIssued,
    summary="Mint a LiveKit token for a room of the key's project",
    description="The token joins the project's own room of that name, on the LiveKit of the "
    "region serving the project. An identity banned from the room gets 403. A project of a "
    "Free organization that used the plan's participant minutes for the period gets 402 "
    "until the period ends or the plan changes.",
    responses={**_KEY, **usage_limit_responses()},
)
async def create(
    body: TokenCreate,
    key: CurrentProjectKey,
    app: PulseDep,
    clients: ClientsDep,
    settings: SettingsDep,
    request: Request,
) -> TokenIssued | JSONResponse:
    region = await media_tokens.project_region(app, key.project_id, key.region)
    token_request = TokenRequest(
        livekit_room=livekit_room(key.project_id, body.room),
        identity=body.identity,
        name=body.name,
        metadata=body.metadata,
        attributes=body.attributes,
        grants=body.grants.as_grants(),
        ttl=timedelta(seconds=body.ttl_seconds or settings.token_default_ttl_seconds),
    )
    try:
        issued = await media_tokens.issue_token(
            app,
            clients,
            settings,
            key.project_id,
            region,
            body.room,
            token_request,
            organization_id=key.organization_id,
        )
    except UsageLimitReachedError as error:
        return usage_limit_response(request, error)
    return TokenIssued(
        token=issued.token.jwt,
        url=issued.serving.region.websocket_url,
        room=issued.room,
        livekit_room=issued.livekit_room,
        identity=body.identity,
        region=issued.serving.region.code,
        failed_over_from=issued.serving.failed_over_from,
        expires_at=issued.token.expires_at,
    )


@router.post(
    "/validate",
    response_model=TokenValidation,
    summary="Check that a token is a live LiveKit token for one of the project's rooms",
    responses=_KEY,
)
async def validate(
    body: TokenValidate, key: CurrentProjectKey, app: PulseDep, clients: ClientsDep
) -> TokenValidation:
    region = await media_tokens.project_region(app, key.project_id, key.region)
    found = await run_in_threadpool(
        media_tokens.validate_token, clients, key.project_id, region, body.token
    )
    claims = found.claims
    return TokenValidation(
        valid=found.valid,
        reason=found.reason,
        room=found.room,
        identity=claims.identity if claims else None,
        expires_at=claims.expires_at if claims else None,
        grants=claims.grants if claims else None,
    )
