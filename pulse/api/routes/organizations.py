"""Organizations: create, list, get, update, soft delete."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from pulse.api.auth import CurrentUser, command_context
from pulse.api.commands import run_command, run_query
from pulse.api.dependencies import ClientsDep, PulseDep
from pulse.api.key_cache import bury_organization_keys
from pulse.api.management_schemas import (
    OrganizationCreate,
    OrganizationOut,
    OrganizationUpdate,
    Page,
)
from pulse.api.openapi import problem_responses
from pulse.api.pagination import Cursor, Limit, page_of
from pulse.api.problems import Problem
from pulse.domain.plans import Plan
from pulse.queries import list_organizations, organization_ids_of_user
from pulse.services import organizations

router = APIRouter(prefix="/v1/organizations", tags=["organizations"])

_READ = problem_responses((401, Problem), (404, Problem))
_WRITE = problem_responses((401, Problem), (403, Problem), (404, Problem), (409, Problem))


@router.post(
    "",
    status_code=HTTPStatus.CREATED,
    response_model=OrganizationOut,
    summary="Create an organization; you become its first Owner",
    responses=problem_responses((401, Problem)),
)
async def create(
    body: OrganizationCreate, user: CurrentUser, app: PulseDep, request: Request, response: Response
) -> dict[str, object]:
    view = await run_command(
        request,
        organizations.create_organization,
        app,
        user.user_id,
        body.name,
        str(body.admin_email),
        body.plan,
        command_context(request, user),
    )
    response.headers["Location"] = f"/v1/organizations/{view['id']}"
    return view


@router.get(
    "",
    response_model=Page[OrganizationOut],
    summary="Organizations you are a member of (eventually consistent)",
    responses=problem_responses((401, Problem)),
)
async def list_(
    user: CurrentUser,
    clients: ClientsDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    q: Annotated[str | None, Query(max_length=100, description="Name contains.")] = None,
    plan: Plan | None = None,
) -> Page[OrganizationOut]:
    ids = await organization_ids_of_user(clients.database, str(user.user_id))
    found = await list_organizations(
        clients.database, ids, q=q, plan=plan, limit=limit, cursor=cursor
    )
    return page_of(found, OrganizationOut)


@router.get(
    "/{organization_id}",
    response_model=OrganizationOut,
    summary="One organization you are a member of (any role)",
    responses=_READ,
)
async def get(organization_id: UUID, user: CurrentUser, app: PulseDep) -> dict[str, object]:
    return await run_query(organizations.get_organization, app, organization_id, user.user_id)


@router.put(
    "/{organization_id}",
    response_model=OrganizationOut,
    summary="Update name, admin email or plan (Owner only)",
    responses=_WRITE,
)
async def update(
    organization_id: UUID,
    body: OrganizationUpdate,
    user: CurrentUser,
    app: PulseDep,
    request: Request,
) -> dict[str, object]:
    return await run_command(
        request,
        organizations.update_organization,
        app,
        organization_id,
        user.user_id,
        body.model_dump(mode="json", exclude_unset=True),
        command_context(request, user),
    )


@router.delete(
    "/{organization_id}",
    status_code=HTTPStatus.NO_CONTENT,
    summary="Soft-delete the organization (Owner); its projects' keys stop at once",
    responses=_WRITE,
)
async def delete(organization_id: UUID, user: CurrentUser, app: PulseDep, request: Request) -> None:
    await run_command(
        request,
        organizations.delete_organization,
        app,
        organization_id,
        user.user_id,
        command_context(request, user),
    )
    await bury_organization_keys(request, organization_id)
