"""A project's API keys: create, list (never the secret), revoke, rotate."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from pulse.api.auth import CurrentUser, command_context
from pulse.api.commands import run_command, run_query
from pulse.api.dependencies import DigesterDep, PulseDep, SettingsDep
from pulse.api.key_cache import remember_key_states
from pulse.api.management_schemas import (
    ApiKeyOut,
    IssuedApiKeyOut,
    KeyCreate,
    KeyRotate,
    KeyRotated,
)
from pulse.api.openapi import problem_responses
from pulse.api.problems import Problem
from pulse.api.routes.projects import forget_project_keys, grace_of, issued
from pulse.domain.roles import Permission
from pulse.services import api_keys

router = APIRouter(prefix="/v1/projects/{project_id}/keys", tags=["api keys"])

MANAGE_KEYS = Permission.MANAGE_API_KEYS
_READ = problem_responses((401, Problem), (403, Problem), (404, Problem))
_WRITE = problem_responses((401, Problem), (403, Problem), (404, Problem), (409, Problem))


@router.post(
    "",
    status_code=HTTPStatus.CREATED,
    response_model=IssuedApiKeyOut,
    summary="Create a key; its secret is in this response only",
    responses=_WRITE,
)
async def create(
    project_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    digester: DigesterDep,
    request: Request,
    response: Response,
    body: KeyCreate | None = None,
) -> dict[str, Any]:
    key = await run_command(
        request,
        api_keys.create_key,
        app,
        digester,
        project_id,
        user.user_id,
        (body or KeyCreate()).name,
        command_context(request, user),
    )
    await remember_key_states(request, project_id)  # Usable at once (see create project).
    response.headers["Location"] = f"/v1/projects/{project_id}/keys/{key.key['id']}"
    return issued(key)


@router.get(
    "",
    response_model=list[ApiKeyOut],
    summary="The project's keys, newest first (ids and status only)",
    responses=_READ,
)
async def list_(project_id: UUID, user: CurrentUser, app: PulseDep) -> list[dict[str, Any]]:
    return await run_query(api_keys.list_keys, app, project_id, user.user_id)


@router.get(
    "/{key_id}",
    response_model=ApiKeyOut,
    summary="One key: its id, name and status (never the secret)",
    responses=_READ,
)
async def get(project_id: UUID, key_id: str, user: CurrentUser, app: PulseDep) -> dict[str, Any]:
    return await run_query(api_keys.get_key, app, project_id, user.user_id, key_id)


@router.delete(
    "/{key_id}",
    response_model=ApiKeyOut,
    summary="Revoke a key: it is refused from the very next request",
    responses=_WRITE,
)
async def revoke(
    project_id: UUID, key_id: str, user: CurrentUser, app: PulseDep, request: Request
) -> dict[str, Any]:
    await forget_project_keys(request, app, project_id, user.user_id, MANAGE_KEYS)
    changed = await run_command(
        request,
        api_keys.revoke_key,
        app,
        project_id,
        user.user_id,
        key_id,
        command_context(request, user),
    )
    await remember_key_states(request, project_id)
    return changed.key


@router.post(
    "/{key_id}/rotate",
    response_model=KeyRotated,
    summary="Replace a key by a new one; the old one works on for the grace period",
    responses=_WRITE,
)
async def rotate(
    project_id: UUID,
    key_id: str,
    user: CurrentUser,
    app: PulseDep,
    digester: DigesterDep,
    settings: SettingsDep,
    request: Request,
    body: KeyRotate | None = None,
) -> dict[str, Any]:
    await forget_project_keys(request, app, project_id, user.user_id, MANAGE_KEYS)
    rotated = await run_command(
        request,
        api_keys.rotate_key,
        app,
        digester,
        project_id,
        user.user_id,
        key_id,
        grace_of(body, settings),
        command_context(request, user),
    )
    await remember_key_states(request, project_id)
    return {"new": issued(rotated.new), "old": rotated.old.key}
