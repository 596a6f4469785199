"""An organization's team: list, invite, get, remove (or leave), change role."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from pulse.api.auth import CurrentUser, command_context
from pulse.api.commands import run_command, run_query
from pulse.api.dependencies import ClientsDep, DigesterDep, PulseDep
from pulse.api.management_schemas import (
    InvitationSent,
    MemberInvite,
    MemberOut,
    Page,
    RoleChange,
)
from pulse.api.openapi import problem_responses
from pulse.api.pagination import Cursor, Limit, page_of
from pulse.api.problems import Problem
from pulse.domain.roles import Permission, Role
from pulse.queries import list_members
from pulse.services import authorization, invitations, members

router = APIRouter(prefix="/v1/organizations/{organization_id}/members", tags=["team"])

_READ = problem_responses((401, Problem), (403, Problem), (404, Problem))
_WRITE = problem_responses((401, Problem), (403, Problem), (404, Problem), (409, Problem))


@router.get(
    "",
    response_model=Page[MemberOut],
    summary="Members of the organization (eventually consistent)",
    responses=_READ,
)
async def list_(
    organization_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Email contains.")] = None,
) -> Page[MemberOut]:
    await run_query(authorization.require, app, organization_id, user.user_id, Permission.VIEW_TEAM)
    found = await list_members(
        clients.database, str(organization_id), role=role, q=q, limit=limit, cursor=cursor
    )
    return page_of(found, MemberOut)


@router.post(
    "",
    status_code=HTTPStatus.CREATED,
    response_model=InvitationSent,
    summary="Invite someone by email with a role (sends no email: pass on the token)",
    responses=_WRITE,
)
async def invite(
    organization_id: UUID,
    body: MemberInvite,
    user: CurrentUser,
    app: PulseDep,
    digester: DigesterDep,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    sent = await run_command(
        request,
        invitations.invite,
        app,
        digester,
        organization_id,
        user.user_id,
        str(body.email),
        body.role,
        command_context(request, user),
    )
    response.headers["Location"] = (
        f"/v1/organizations/{organization_id}/invitations/{sent.invitation['id']}"
    )
    return {"invitation": sent.invitation, "token": sent.token}


@router.get(
    "/{user_id}",
    response_model=MemberOut,
    summary="One member of the organization (any role)",
    responses=_READ,
)
async def get(
    organization_id: UUID, user_id: UUID, user: CurrentUser, app: PulseDep
) -> dict[str, Any]:
    return await run_query(members.get_member, app, organization_id, user.user_id, user_id)


@router.delete(
    "/{user_id}",
    status_code=HTTPStatus.NO_CONTENT,
    summary="Remove a member, or leave (your own user id); the last Owner cannot",
    responses=_WRITE,
)
async def remove(
    organization_id: UUID, user_id: UUID, user: CurrentUser, app: PulseDep, request: Request
) -> None:
    await run_command(
        request,
        members.remove_member,
        app,
        organization_id,
        user.user_id,
        user_id,
        command_context(request, user),
    )


@router.put(
    "/{user_id}/role",
    response_model=MemberOut,
    summary="Change a member's role (only an Owner grants or removes Owner)",
    responses=_WRITE,
)
async def change_role(
    organization_id: UUID,
    user_id: UUID,
    body: RoleChange,
    user: CurrentUser,
    app: PulseDep,
    request: Request,
) -> dict[str, Any]:
    return await run_command(
        request,
        members.change_role,
        app,
        organization_id,
        user.user_id,
        user_id,
        body.role,
        command_context(request, user),
    )
