"""Invitations: list an organization's, revoke one, accept one with its token."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request

from pulse.api.auth import CurrentUser, command_context
from pulse.api.commands import run_command, run_query
from pulse.api.dependencies import ClientsDep, DigesterDep, PulseDep
from pulse.api.management_schemas import (
    InvitationAccept,
    InvitationOut,
    MemberOut,
    Page,
)
from pulse.api.openapi import problem_responses
from pulse.api.pagination import Cursor, Limit, page_of
from pulse.api.problems import Problem
from pulse.domain.roles import Permission
from pulse.queries import list_invitations
from pulse.services import authorization, invitations
from pulse.services.clock import as_utc, utc_now

router = APIRouter(tags=["team"])

_WRITE = problem_responses((401, Problem), (403, Problem), (404, Problem), (409, Problem))


@router.get(
    "/v1/organizations/{organization_id}/invitations",
    response_model=Page[InvitationOut],
    summary="The organization's invitations (eventually consistent)",
    responses=problem_responses((401, Problem), (403, Problem), (404, Problem)),
)
async def list_(
    organization_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    status: Annotated[
        Literal["pending", "accepted", "revoked", "expired", "any"],
        Query(description="Which invitations; `any` lists them all."),
    ] = "pending",
) -> Page[InvitationOut]:
    await run_query(
        authorization.require, app, organization_id, user.user_id, Permission.MANAGE_TEAM
    )
    now = utc_now()
    found = await list_invitations(
        clients.database,
        str(organization_id),
        status=None if status == "any" else status,
        now=now,
        limit=limit,
        cursor=cursor,
    )
    for item in found.items:
        if item["status"] == "pending" and as_utc(item["expires_at"]) <= now:
            item["status"] = "expired"
    return page_of(found, InvitationOut)


@router.get(
    "/v1/organizations/{organization_id}/invitations/{invitation_id}",
    response_model=InvitationOut,
    summary="One invitation (never its token)",
    responses=problem_responses((401, Problem), (403, Problem), (404, Problem)),
)
async def get(
    organization_id: UUID, invitation_id: UUID, user: CurrentUser, app: PulseDep
) -> dict[str, Any]:
    return await run_query(
        invitations.get_invitation, app, organization_id, user.user_id, invitation_id
    )


@router.delete(
    "/v1/organizations/{organization_id}/invitations/{invitation_id}",
    response_model=InvitationOut,
    summary="Revoke a pending invitation",
    responses=_WRITE,
)
async def revoke(
    organization_id: UUID,
    invitation_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    request: Request,
) -> dict[str, Any]:
    return await run_command(
        request,
        invitations.revoke,
        app,
        organization_id,
        user.user_id,
        invitation_id,
        command_context(request, user),
    )


@router.post(
    "/v1/invitations/accept",
    response_model=MemberOut,
    summary="Join the organization: sign in with the invited email, send the token",
    responses=_WRITE,
)
async def accept(
    body: InvitationAccept,
    user: CurrentUser,
    app: PulseDep,
    digester: DigesterDep,
    request: Request,
) -> dict[str, Any]:
    return await run_command(
        request,
        invitations.accept,
        app,
        digester,
        body.token,
        user.user_id,
        command_context(request, user),
    )
