"""Ingress (RTMP, WHIP, pulled URLs) into a project's rooms, with the project's key."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request, Response

from pulse.api.auth import CurrentProjectKey, command_context
from pulse.api.commands import run_query
from pulse.api.dependencies import ClientsDep, PulseDep
from pulse.api.management_schemas import Page
from pulse.api.media_problems import media_failure_response
from pulse.api.media_schemas import (
    IngressCreate,
    IngressCreated,
    IngressKindName,
    IngressOut,
    IngressStatusName,
    RoomFilter,
)
from pulse.api.openapi import problem_responses
from pulse.api.pagination import Cursor, Limit, page_of
from pulse.api.problems import Problem
from pulse.projections.wakeup import wake_projections
from pulse.queries.media_egress import list_ingresses
from pulse.services import ingress as ingress_service
from pulse.services.media_calls import MediaRequestFailedError

router = APIRouter(prefix="/v1/media/ingress", tags=["media"])

_READ = problem_responses((401, Problem), (404, Problem), (422, Problem))
_WRITE = problem_responses(
    (401, Problem), (404, Problem), (409, Problem), (422, Problem), (502, Problem), (503, Problem)
)


@router.post(
    "/create",
    status_code=HTTPStatus.CREATED,
    response_model=IngressCreated,
    summary="Create an RTMP or WHIP endpoint, or pull a URL, into a room",
    description="The stream key is in this answer only: Pulse does not keep it. If LiveKit "
    "refuses (503 when it has no ingress service), the answer is a problem naming the "
    "ingress, recorded as failed.",
    responses=_WRITE,
)
async def create(
    body: IngressCreate,
    key: CurrentProjectKey,
    app: PulseDep,
    clients: ClientsDep,
    request: Request,
    response: Response,
) -> Any:
    try:
        created = await ingress_service.create_ingress(
            app, clients.livekit, key.project_id, body.as_spec(), command_context(request, key)
        )
    except MediaRequestFailedError as failure:
        await wake_projections(clients)
        return media_failure_response(request, failure)
    await wake_projections(clients)
    response.headers["Location"] = f"/v1/media/ingress/{created.ingress['id']}"
    return {**created.ingress, "stream_key": created.stream_key}


@router.get(
    "",
    response_model=Page[IngressOut],
    summary="The project's ingresses, oldest first (eventually consistent)",
    responses=_READ,
)
async def list_(
    key: CurrentProjectKey,
    clients: ClientsDep,
    room: RoomFilter = None,
    status: IngressStatusName | None = None,
    kind: IngressKindName | None = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[IngressOut]:
    found = await list_ingresses(
        clients.database,
        key.project_id,
        room=room,
        status=status,
        kind=kind,
        limit=limit,
        cursor=cursor,
    )
    return page_of(found, IngressOut)


@router.get(
    "/{ingress_id}",
    response_model=IngressOut,
    summary="One ingress, by Pulse's id or LiveKit's IN_...",
    responses=_READ,
)
async def get(ingress_id: str, key: CurrentProjectKey, app: PulseDep) -> dict[str, Any]:
    return await run_query(ingress_service.get_ingress, app, key.project_id, ingress_id)


@router.delete(
    "/{ingress_id}",
    status_code=HTTPStatus.NO_CONTENT,
    summary="Delete an ingress (on LiveKit too): its URL and stream key stop working",
    responses=_WRITE,
)
async def delete(
    ingress_id: str,
    key: CurrentProjectKey,
    app: PulseDep,
    clients: ClientsDep,
    request: Request,
) -> None:
    await ingress_service.delete_ingress(
        app, clients.livekit, key.project_id, ingress_id, command_context(request, key)
    )
    await wake_projections(clients)
