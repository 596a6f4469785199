"""The state a command answers with, built from the aggregates it just saved.

Field names match the read models' documents (with ``id`` for ``_id``), so a
resource looks the same whether it comes from a command or from a list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pulse.domain.invitation import Invitation
from pulse.domain.member import Member
from pulse.domain.organization import Organization
from pulse.domain.project import ApiKey, Project
from pulse.domain.user import User
from pulse.services.storage_secrets import public_storage

View = dict[str, Any]


def ms(moment: datetime | None) -> datetime | None:
    """To the millisecond, as read models store times (BSON dates have no more)."""
    return None if moment is None else moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def organization_view(organization: Organization) -> View:
    return {
        "id": str(organization.id),
        "name": organization.name,
        "admin_email": organization.admin_email,
        "plan": str(organization.plan),
        "owner_ids": sorted(str(owner) for owner in organization.owner_ids),
        "created_at": ms(organization.created_on),
        "updated_at": ms(organization.modified_on),
    }


def project_view(project: Project) -> View:
    return {
        "id": str(project.id),
        "organization_id": str(project.organization_id),
        "name": project.name,
        "region": project.region,
        "webhook_url": project.webhook_url,
        "storage": public_storage(project.storage),
        "created_at": ms(project.created_on),
        "updated_at": ms(project.modified_on),
    }


def key_view(project: Project, key: ApiKey, now: datetime) -> View:
    return {
        "id": key.key_id,
        "project_id": str(project.id),
        "name": key.name,
        "status": str(key.status(now)),
        "created_at": ms(key.created_at),
        "expires_at": ms(key.expires_at),
        "revoked_at": ms(key.revoked_at),
    }


def member_view(member: Member) -> View:
    return {
        "id": str(member.id),
        "organization_id": str(member.organization_id),
        "user_id": str(member.user_id),
        "email": member.email,
        "role": str(member.role),
        "joined_at": ms(member.rejoined_at or member.created_on),
        "updated_at": ms(member.modified_on),
    }


def invitation_view(invitation: Invitation) -> View:
    return {
        "id": str(invitation.id),
        "organization_id": str(invitation.organization_id),
        "email": invitation.email,
        "role": str(invitation.role),
        "status": str(invitation.status),
        "expires_at": ms(invitation.expires_at),
        "created_at": ms(invitation.created_on),
    }


def user_view(user: User) -> View:
    return {"id": str(user.id), "email": user.email, "name": user.name}
