"""Who may do what in an organization: membership first, then the role matrix.

Both answers come from the event store (the Member aggregate), not from a read model,
so a role change or a removal takes effect on the very next request. A caller who is
not an active member learns nothing: the organization is ``NotFoundError`` to them.
A member the role matrix refuses gets a ``NotPermittedError`` naming the organization
(and project), so the API can record the attempt in that organization's audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pulse.domain.errors import NotPermittedError
from pulse.domain.member import Member, member_id
from pulse.domain.organization import Organization
from pulse.domain.project import Project
from pulse.domain.roles import Permission, Role, allows, may_assign
from pulse.services.application import PulseApplication
from pulse.services.errors import NotFoundError


@dataclass(frozen=True)
class Membership:
    organization: Organization
    member: Member

    @property
    def role(self) -> Role:
        return self.member.role


def membership(app: PulseApplication, organization_id: UUID, user_id: UUID) -> Membership:
    organization = app.load(organization_id, Organization)
    if organization.is_deleted:
        raise NotFoundError(f"Organization {organization_id}")
    try:
        member = app.load(member_id(organization_id, user_id), Member)
    except NotFoundError:
        raise NotFoundError(f"Organization {organization_id}") from None
    if not member.active:
        raise NotFoundError(f"Organization {organization_id}")
    return Membership(organization, member)


def require(
    app: PulseApplication, organization_id: UUID, user_id: UUID, permission: Permission
) -> Membership:
    found = membership(app, organization_id, user_id)
    if not allows(found.role, permission):
        msg = f"The {found.role} role does not allow {permission}"
        raise NotPermittedError(msg, organization_id=organization_id)
    return found


def require_project(
    app: PulseApplication, project_id: UUID, user_id: UUID, permission: Permission
) -> tuple[Project, Membership]:
    """The project and the caller's membership in its organization, or NotFoundError."""
    project = app.load(project_id, Project)
    if project.is_deleted:
        raise NotFoundError(f"Project {project_id}")
    try:
        found = membership(app, project.organization_id, user_id)
    except NotFoundError:
        raise NotFoundError(f"Project {project_id}") from None
    if not allows(found.role, permission):
        msg = f"The {found.role} role does not allow {permission}"
        raise NotPermittedError(msg, organization_id=project.organization_id, project_id=project_id)
    return project, found


def require_assignment(actor: Membership, current: Role | None, new: Role | None) -> None:
    """Refuse, with the reason, a team change the actor's role does not allow.

    ``current``/``new`` are the member's role before and after (None: not a member),
    so the same rule covers inviting, changing a role, removing and revoking.
    """
    if not may_assign(actor.role, current, new):
        where = actor.organization.id
        if new is Role.OWNER or current is Role.OWNER:
            raise NotPermittedError(
                "Only an Owner may grant, change or remove the Owner role", organization_id=where
            )
        raise NotPermittedError(
            f"The {actor.role} role does not allow managing the team", organization_id=where
        )
