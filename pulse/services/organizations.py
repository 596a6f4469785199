"""Organization commands: create (the creator becomes its first Owner), update, delete."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pulse.domain.context import CommandContext
from pulse.domain.member import Member
from pulse.domain.organization import Organization
from pulse.domain.plans import Plan
from pulse.domain.roles import Permission, Role
from pulse.domain.user import User
from pulse.services.application import PulseApplication
from pulse.services.authorization import require
from pulse.services.clock import utc_now
from pulse.services.retries import retry_on_conflict
from pulse.services.views import View, organization_view


def create_organization(
    app: PulseApplication,
    user_id: UUID,
    name: str,
    admin_email: str,
    plan: Plan,
    context: CommandContext,
) -> View:
    user = app.load(user_id, User)
    organization = Organization(
        name=name,
        admin_email=admin_email,
        plan=str(plan),
        creator_id=user.id,
        context=context,
    )
    owner = Member(
        organization_id=organization.id,
        user_id=user.id,
        email=user.email,
        role=str(Role.OWNER),
        context=context,
    )
    app.save(organization, owner)
    return organization_view(organization)


def get_organization(app: PulseApplication, organization_id: UUID, user_id: UUID) -> View:
    found = require(app, organization_id, user_id, Permission.VIEW_ORGANIZATION)
    return organization_view(found.organization)


def update_organization(
    app: PulseApplication,
    organization_id: UUID,
    user_id: UUID,
    changes: dict[str, Any],
    context: CommandContext,
) -> View:
    def command() -> View:
        found = require(app, organization_id, user_id, Permission.MANAGE_ORGANIZATION)
        if changes.get("plan") is not None:
            require(app, organization_id, user_id, Permission.MANAGE_BILLING)
        found.organization.update(changes, context)
        app.save(found.organization)
        return organization_view(found.organization)

    return retry_on_conflict(command)


def delete_organization(
    app: PulseApplication, organization_id: UUID, user_id: UUID, context: CommandContext
) -> None:
    def command() -> None:
        found = require(app, organization_id, user_id, Permission.DELETE_ORGANIZATION)
        found.organization.delete(utc_now(), context)
        app.save(found.organization)

    retry_on_conflict(command)
