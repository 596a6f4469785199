"""Invitations: invite someone by email with a role, revoke, accept with the token.

Pulse does not send email: the invitation's token is returned once to the inviter,
who passes it on. Accepting needs an account with the invited email address.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pulse.domain.context import CommandContext
from pulse.domain.errors import InvariantError
from pulse.domain.invitation import INVITATION_LIFETIME, Invitation, InvitationStatus
from pulse.domain.member import Member, member_id
from pulse.domain.organization import Organization
from pulse.domain.roles import Permission, Role
from pulse.domain.user import User, normalize_email, user_id_for
from pulse.services.application import PulseApplication
from pulse.services.authorization import membership, require, require_assignment
from pulse.services.clock import utc_now
from pulse.services.credentials import (
    INVITATION_TOKEN_PREFIX,
    Digester,
    owned_token,
    parse_owned_token,
)
from pulse.services.errors import ConflictError, InvalidTokenError, NotFoundError
from pulse.services.retries import retry_on_conflict
from pulse.services.views import View, invitation_view, member_view

INVALID_TOKEN = "Invalid or expired invitation token"  # noqa: S105 (a message)


@dataclass(frozen=True)
class SentInvitation:
    invitation: View
    token: str


def invite(
    app: PulseApplication,
    digester: Digester,
    organization_id: UUID,
    user_id: UUID,
    email: str,
    role: Role,
    context: CommandContext,
) -> SentInvitation:
    require_assignment(membership(app, organization_id, user_id), None, role)
    if _is_active_member(app, organization_id, user_id_for(email)):
        raise ConflictError("This person is already a member of the organization")
    secret = digester.new_owned_secret()
    invitation = Invitation(
        organization_id=organization_id,
        email=normalize_email(email),
        role=str(role),
        token_digest=secret.digest,
        expires_at=utc_now() + INVITATION_LIFETIME,
        context=context,
    )
    app.save(invitation)
    token = owned_token(INVITATION_TOKEN_PREFIX, invitation.id, secret)
    return SentInvitation(invitation_view(invitation), token)


def _is_active_member(app: PulseApplication, organization_id: UUID, user_id: UUID) -> bool:
    try:
        return app.load(member_id(organization_id, user_id), Member).active
    except NotFoundError:
        return False


def get_invitation(
    app: PulseApplication, organization_id: UUID, user_id: UUID, invitation_id: UUID
) -> View:
    require(app, organization_id, user_id, Permission.MANAGE_TEAM)
    try:
        invitation = app.load(invitation_id, Invitation)
    except NotFoundError:
        raise NotFoundError(f"Invitation {invitation_id}") from None
    if invitation.organization_id != organization_id:
        raise NotFoundError(f"Invitation {invitation_id}")
    view = invitation_view(invitation)
    if not invitation.is_pending(utc_now()) and invitation.status is InvitationStatus.PENDING:
        view["status"] = "expired"
    return view


def revoke(
    app: PulseApplication,
    organization_id: UUID,
    user_id: UUID,
    invitation_id: UUID,
    context: CommandContext,
) -> View:
    def command() -> View:
        actor = membership(app, organization_id, user_id)
        invitation = app.load(invitation_id, Invitation)
        if invitation.organization_id != organization_id:
            raise NotFoundError(f"Invitation {invitation_id}")
        require_assignment(actor, None, invitation.role)
        invitation.revoke(context)
        app.save(invitation)
        return invitation_view(invitation)

    return retry_on_conflict(command)


def accept(
    app: PulseApplication,
    digester: Digester,
    token: str,
    user_id: UUID,
    context: CommandContext,
) -> View:
    parsed = parse_owned_token(INVITATION_TOKEN_PREFIX, token)
    if parsed is None:
        raise InvalidTokenError(INVALID_TOKEN)
    invitation_id, secret = parsed
    presented = digester.digest(secret)

    def command() -> View:
        try:
            invitation = app.load(invitation_id, Invitation)
        except NotFoundError:
            raise InvalidTokenError(INVALID_TOKEN) from None
        if not invitation.matches(presented):
            raise InvalidTokenError(INVALID_TOKEN)
        user = app.load(user_id, User)
        organization = app.load(invitation.organization_id, Organization)
        organization.ensure_active()
        invitation.accept(user.id, user.email, utc_now(), context)
        member = _join(app, organization, user, invitation.role, context)
        if invitation.role is Role.OWNER:
            organization.add_owner(user.id, context)
        app.save(invitation, member, organization)
        return member_view(member)

    return retry_on_conflict(command)


def _join(
    app: PulseApplication,
    organization: Organization,
    user: User,
    role: Role,
    context: CommandContext,
) -> Member:
    try:
        member = app.load(member_id(organization.id, user.id), Member)
    except NotFoundError:
        return Member(
            organization_id=organization.id,
            user_id=user.id,
            email=user.email,
            role=str(role),
            context=context,
        )
    if member.active:
        raise InvariantError("You are already a member of this organization")
    member.rejoin(role, utc_now(), context)
    return member
