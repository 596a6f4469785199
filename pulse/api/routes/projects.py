"""Projects: create (with a first API key), list, get, update, soft delete, regenerate keys."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from pulse.api.auth import CurrentUser, command_context
from pulse.api.commands import run_command, run_query
from pulse.api.dependencies import (
    ClientsDep,
    DigesterDep,
    PulseDep,
    SettingsDep,
    StorageSecretsDep,
)
from pulse.api.key_cache import forget_keys, remember_key_states
from pulse.api.management_schemas import (
    KeyRotate,
    KeysRegenerated,
    Page,
    ProjectCreate,
    ProjectCreatedOut,
    ProjectOut,
    ProjectUpdate,
    Region,
)
from pulse.api.openapi import problem_responses
from pulse.api.pagination import Cursor, Limit, page_of
from pulse.api.problems import Problem
from pulse.api.routes.webhook_endpoints import sync_project_url, vet_project_url
from pulse.config import Settings
from pulse.domain.roles import Permission
from pulse.queries import list_projects, organization_ids_of_user
from pulse.services import authorization, projects
from pulse.services.application import PulseApplication
from pulse.services.errors import NotFoundError
from pulse.services.projects import IssuedKey

router = APIRouter(prefix="/v1/projects", tags=["projects"])

_READ = problem_responses((401, Problem), (404, Problem))
_WRITE = problem_responses((401, Problem), (403, Problem), (404, Problem), (409, Problem))


def issued(key: IssuedKey) -> dict[str, Any]:
    return {"key": key.key, "secret": key.secret}


def grace_of(body: KeyRotate | None, settings: Settings) -> timedelta:
    """The requested grace period, capped by the configured maximum."""
    seconds = 0 if body is None else body.grace_seconds
    return timedelta(seconds=min(seconds, settings.key_rotation_max_grace_seconds))


@router.post(
    "",
    status_code=HTTPStatus.CREATED,
    response_model=ProjectCreatedOut,
    summary="Create a project in an organization, with its first API key",
    description="The key's secret is in this response only.",
    responses=_WRITE,
)
async def create(
    body: ProjectCreate,
    user: CurrentUser,
    app: PulseDep,
    digester: DigesterDep,
    storage_secrets: StorageSecretsDep,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    fields = body.model_dump(mode="json", exclude={"organization_id", "storage"})
    fields["storage"] = body.storage.as_config() if body.storage else None
    await vet_project_url(request, body.webhook_url)  # 422 before anything is written.
    created = await run_command(
        request,
        projects.create_project,
        app,
        digester,
        storage_secrets,
        _organization_id(body.organization_id),
        user.user_id,
        fields,
        command_context(request, user),
    )
    # Cached now, the new key works on the next request, before the read model
    # that maps secrets to projects has caught up.
    await remember_key_states(request, UUID(created.project["id"]))
    if body.webhook_url is not None:  # The URL becomes one of the project's endpoints.
        await sync_project_url(request, app, UUID(created.project["id"]), fields, user)
    response.headers["Location"] = f"/v1/projects/{created.project['id']}"
    return {"project": created.project, "key": issued(created.key)}


def _organization_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise NotFoundError(f"Organization {raw}") from None


@router.get(
    "",
    response_model=Page[ProjectOut],
    summary="Projects of your organizations (eventually consistent)",
    responses=_READ,
)
async def list_(
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    organization_id: UUID | None = None,
    limit: Limit = 20,
    cursor: Cursor = None,
    q: Annotated[str | None, Query(max_length=100, description="Name contains.")] = None,
    region: Region | None = None,
) -> Page[ProjectOut]:
    if organization_id is not None:
        # An organization you are not in is not found, rather than an empty list.
        await run_query(authorization.membership, app, organization_id, user.user_id)
        ids = [str(organization_id)]
    else:
        ids = await organization_ids_of_user(clients.database, str(user.user_id))
    found = await list_projects(
        clients.database, ids, q=q, region=region, limit=limit, cursor=cursor
    )
    return page_of(found, ProjectOut)


@router.get(
    "/{project_id}",
    response_model=ProjectOut,
    summary="One project of your organizations (any role)",
    responses=_READ,
)
async def get(project_id: UUID, user: CurrentUser, app: PulseDep) -> dict[str, Any]:
    return await run_query(projects.get_project, app, project_id, user.user_id)


@router.put(
    "/{project_id}",
    response_model=ProjectOut,
    summary="Update name, region, webhook URL or storage (Owner, Admin, Developer)",
    responses=_WRITE,
)
async def update(
    project_id: UUID,
    body: ProjectUpdate,
    user: CurrentUser,
    app: PulseDep,
    storage_secrets: StorageSecretsDep,
    request: Request,
) -> dict[str, Any]:
    changes = body.model_dump(mode="json", exclude_unset=True, exclude={"storage"})
    if "storage" in body.model_fields_set:
        changes["storage"] = body.storage.as_config() if body.storage else None
    await vet_project_url(request, changes.get("webhook_url"))
    updated = await run_command(
        request,
        projects.update_project,
        app,
        storage_secrets,
        project_id,
        user.user_id,
        changes,
        command_context(request, user),
    )
    await sync_project_url(request, app, project_id, changes, user)
    return updated


@router.delete(
    "/{project_id}",
    status_code=HTTPStatus.NO_CONTENT,
    summary="Soft-delete the project; its keys stop working at once",
    responses=_WRITE,
)
async def delete(project_id: UUID, user: CurrentUser, app: PulseDep, request: Request) -> None:
    await forget_project_keys(request, app, project_id, user.user_id, Permission.MANAGE_PROJECTS)
    await run_command(
        request,
        projects.delete_project,
        app,
        project_id,
        user.user_id,
        command_context(request, user),
    )
    await remember_key_states(request, project_id)


async def forget_project_keys(
    request: Request,
    app: PulseApplication,
    project_id: UUID,
    user_id: UUID,
    permission: Permission,
) -> None:
    digests = await run_query(projects.key_digests, app, project_id, user_id, permission)
    await forget_keys(request, digests)


@router.post(
    "/{project_id}/regenerate-keys",
    response_model=KeysRegenerated,
    summary="Issue a new key; every working key stops after the grace period",
    responses=_WRITE,
)
async def regenerate_keys(
    project_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    digester: DigesterDep,
    settings: SettingsDep,
    request: Request,
    body: KeyRotate | None = None,
) -> dict[str, Any]:
    await forget_project_keys(request, app, project_id, user.user_id, Permission.MANAGE_API_KEYS)
    result = await run_command(
        request,
        projects.regenerate_keys,
        app,
        digester,
        project_id,
        user.user_id,
        grace_of(body, settings),
        command_context(request, user),
    )
    await remember_key_states(request, project_id)
    return {"project": result.project, "key": issued(result.key), "retired": result.retired}
