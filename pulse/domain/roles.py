"""Roles, permissions and the product plan's role matrix (section 5.1), in one table."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    DEVELOPER = "developer"
    VIEWER = "viewer"


class Permission(StrEnum):
    VIEW_ORGANIZATION = "organization:view"
    MANAGE_ORGANIZATION = "organization:manage"
    DELETE_ORGANIZATION = "organization:delete"
    MANAGE_BILLING = "billing:manage"
    VIEW_PROJECTS = "projects:view"
    MANAGE_PROJECTS = "projects:manage"
    MANAGE_API_KEYS = "api_keys:manage"
    MANAGE_WEBHOOKS = "webhooks:manage"
    VIEW_TEAM = "team:view"
    MANAGE_TEAM = "team:manage"
    VIEW_AUDIT_LOG = "audit_log:view"
    VIEW_USAGE = "usage:view"


_READ_ONLY = frozenset(
    {
        Permission.VIEW_ORGANIZATION,
        Permission.VIEW_PROJECTS,
        Permission.VIEW_TEAM,
        Permission.VIEW_AUDIT_LOG,
        Permission.VIEW_USAGE,
    }
)
_DEVELOPER = _READ_ONLY | {Permission.MANAGE_PROJECTS, Permission.MANAGE_API_KEYS}
_ADMIN = _DEVELOPER | {Permission.MANAGE_TEAM, Permission.MANAGE_WEBHOOKS}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: _ADMIN,
    Role.DEVELOPER: _DEVELOPER,
    Role.VIEWER: _READ_ONLY,
}


def allows(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def may_assign(actor: Role, current: Role | None, new: Role | None) -> bool:
    """Whether ``actor`` may move a member from ``current`` to ``new`` (None: not a member).

    Managing the team lets Admins add, change and remove Admins, Developers and
    Viewers; only Owners may grant the Owner role or touch an Owner.
    """
    if not allows(actor, Permission.MANAGE_TEAM):
        return False
    if Role.OWNER in (current, new):
        return actor is Role.OWNER
    return True
