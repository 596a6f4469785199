"""Team commands: read, change the role of, and remove members.

Changes that touch the Owner role are saved together with the organization, whose
Owner roster refuses to lose its last Owner: the two aggregates land in one save.
"""

from __future__ import annotations

from uuid import UUID

from pulse.domain.context import CommandContext
from pulse.domain.member import Member, member_id
from pulse.domain.roles import Permission, Role
from pulse.services.application import PulseApplication
from pulse.services.authorization import membership, require, require_assignment
from pulse.services.errors import NotFoundError
from pulse.services.retries import retry_on_conflict
from pulse.services.views import View, member_view


def _active_member(app: PulseApplication, organization_id: UUID, user_id: UUID) -> Member:
    try:
        member = app.load(member_id(organization_id, user_id), Member)
    except NotFoundError:
        raise NotFoundError(f"Member {user_id}") from None
    if not member.active:
        raise NotFoundError(f"Member {user_id}")
    return member


def get_member(
    app: PulseApplication, organization_id: UUID, user_id: UUID, target_user_id: UUID
) -> View:
    require(app, organization_id, user_id, Permission.VIEW_TEAM)
    return member_view(_active_member(app, organization_id, target_user_id))


def change_role(
    app: PulseApplication,
    organization_id: UUID,
    user_id: UUID,
    target_user_id: UUID,
    role: Role,
    context: CommandContext,
) -> View:
    def command() -> View:
        actor = membership(app, organization_id, user_id)
        target = _active_member(app, organization_id, target_user_id)
        require_assignment(actor, target.role, role)
        organization = actor.organization
        if role is Role.OWNER:
            organization.add_owner(target.user_id, context)
        elif target.role is Role.OWNER:
            organization.remove_owner(target.user_id, context)
        target.change_role(role, context)
        app.save(organization, target)
        return member_view(target)

    return retry_on_conflict(command)


def remove_member(
    app: PulseApplication,
    organization_id: UUID,
    user_id: UUID,
    target_user_id: UUID,
    context: CommandContext,
) -> None:
    """Remove someone (needs team management), or leave (anyone may, but the last Owner)."""

    def command() -> None:
        actor = membership(app, organization_id, user_id)
        target = _active_member(app, organization_id, target_user_id)
        if target_user_id != user_id:
            require_assignment(actor, target.role, None)
        organization = actor.organization
        if target.role is Role.OWNER:
            organization.remove_owner(target.user_id, context)
        target.remove(context)
        app.save(organization, target)

    retry_on_conflict(command)
