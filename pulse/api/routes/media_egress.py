"""Egress (recordings, HLS, RTMP live streams) of a project's rooms, with the project's key."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request, Response

from pulse.api.auth import CurrentProjectKey, command_context
from pulse.api.commands import run_query
from pulse.api.dependencies import ClientsDep, PulseDep, StorageSecretsDep
from pulse.api.management_schemas import Page
from pulse.api.media_problems import media_failure_response
from pulse.api.media_schemas import (
    EgressKindName,
    EgressOut,
    EgressStart,
    EgressStatusName,
    EgressStop,
    RoomFilter,
)
from pulse.api.openapi import problem_responses
from pulse.api.pagination import Cursor, Limit, page_of
from pulse.api.problems import Problem
from pulse.projections.wakeup import wake_projections
from pulse.queries.media_egress import list_egresses
from pulse.services import egress as egress_service
from pulse.services.media_calls import MediaRequestFailedError

router = APIRouter(prefix="/v1/media/egress", tags=["media"])

_READ = problem_responses((401, Problem), (404, Problem), (422, Problem))
_WRITE = problem_responses(
    (401, Problem), (404, Problem), (409, Problem), (422, Problem), (502, Problem), (503, Problem)
)


@router.post(
    "/start",
    status_code=HTTPStatus.CREATED,
    response_model=EgressOut,
    summary="Record a room, some tracks or one track: to MP4, HLS (S3/R2) and/or RTMP",
    description="The egress is recorded before LiveKit is asked. If LiveKit refuses (503 "
    "when it has no egress worker), the answer is a problem naming the egress, which "
    "stays recorded as failed with LiveKit's reason.",
    responses=_WRITE,
)
async def start(
    body: EgressStart,
    key: CurrentProjectKey,
    app: PulseDep,
    clients: ClientsDep,
    storage_secrets: StorageSecretsDep,
    request: Request,
    response: Response,
) -> Any:
    try:
        view = await egress_service.start_egress(
            app,
            clients.livekit,
            storage_secrets,
            key.project_id,
            body.as_spec(),
            command_context(request, key),
        )
    except MediaRequestFailedError as failure:
        await wake_projections(clients)
        return media_failure_response(request, failure)
    await wake_projections(clients)
    response.headers["Location"] = f"/v1/media/egress/{view['id']}"
    return view


@router.post(
    "/stop",
    response_model=EgressOut,
    summary="Stop an active egress (it is ending until LiveKit reports it complete)",
    responses=_WRITE,
)
async def stop(
    body: EgressStop,
    key: CurrentProjectKey,
    app: PulseDep,
    clients: ClientsDep,
    request: Request,
) -> dict[str, Any]:
    view = await egress_service.stop_egress(
        app, clients.livekit, key.project_id, body.egress_id, command_context(request, key)
    )
    await wake_projections(clients)
    return view


@router.get(
    "",
    response_model=Page[EgressOut],
    summary="The project's egresses, oldest first (eventually consistent)",
    responses=_READ,
)
async def list_(
    key: CurrentProjectKey,
    clients: ClientsDep,
    room: RoomFilter = None,
    status: EgressStatusName | None = None,
    kind: EgressKindName | None = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[EgressOut]:
    found = await list_egresses(
        clients.database,
        key.project_id,
        room=room,
        status=status,
        kind=kind,
        limit=limit,
        cursor=cursor,
    )
    return page_of(found, EgressOut)


@router.get(
    "/{egress_id}",
    response_model=EgressOut,
    summary="One egress, by Pulse's id or LiveKit's EG_...",
    responses=_READ,
)
async def get(egress_id: str, key: CurrentProjectKey, app: PulseDep) -> dict[str, Any]:
    return await run_query(egress_service.get_egress, app, key.project_id, egress_id)
