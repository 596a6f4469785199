"""Project API key commands: create, revoke, rotate (with an optional grace period)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from pulse.domain.context import CommandContext
from pulse.domain.project import ApiKey, Project
from pulse.domain.roles import Permission
from pulse.services.application import PulseApplication
from pulse.services.authorization import require_project
from pulse.services.clock import utc_now
from pulse.services.credentials import Digester, new_key_id
from pulse.services.errors import NotFoundError
from pulse.services.projects import IssuedKey, issued_key
from pulse.services.retries import retry_on_conflict
from pulse.services.views import View, key_view


@dataclass(frozen=True)
class ChangedKey:
    """A key after a revocation or rotation, and the version the cache must hold."""

    key: View
    digest: str
    project_version: int


@dataclass(frozen=True)
class RotatedKey:
    new: IssuedKey
    old: ChangedKey


def _key_of(project: Project, key_id: str) -> ApiKey:
    if key_id not in project.keys:
        raise NotFoundError(f"Key {key_id}")
    return project.keys[key_id]


def create_key(
    app: PulseApplication,
    digester: Digester,
    project_id: UUID,
    user_id: UUID,
    name: str,
    context: CommandContext,
) -> IssuedKey:
    issued = digester.new_api_secret()
    key_id = new_key_id()

    def command() -> IssuedKey:
        project, _ = require_project(app, project_id, user_id, Permission.MANAGE_API_KEYS)
        now = utc_now()
        project.add_key(key_id, name, issued.digest, now, context)
        app.save(project)
        return issued_key(project, key_id, issued, now)

    return retry_on_conflict(command)


def list_keys(app: PulseApplication, project_id: UUID, user_id: UUID) -> list[View]:
    project, _ = require_project(app, project_id, user_id, Permission.MANAGE_API_KEYS)
    now = utc_now()
    keys = sorted(project.keys.values(), key=lambda key: key.created_at, reverse=True)
    return [key_view(project, key, now) for key in keys]


def get_key(app: PulseApplication, project_id: UUID, user_id: UUID, key_id: str) -> View:
    project, _ = require_project(app, project_id, user_id, Permission.MANAGE_API_KEYS)
    return key_view(project, _key_of(project, key_id), utc_now())


def revoke_key(
    app: PulseApplication, project_id: UUID, user_id: UUID, key_id: str, context: CommandContext
) -> ChangedKey:
    def command() -> ChangedKey:
        project, _ = require_project(app, project_id, user_id, Permission.MANAGE_API_KEYS)
        key = _key_of(project, key_id)
        now = utc_now()
        project.revoke_key(key_id, now, context)
        app.save(project)
        return ChangedKey(key_view(project, key, now), key.digest, project.version)

    return retry_on_conflict(command)


def rotate_key(
    app: PulseApplication,
    digester: Digester,
    project_id: UUID,
    user_id: UUID,
    key_id: str,
    grace: timedelta,
    context: CommandContext,
) -> RotatedKey:
    issued = digester.new_api_secret()
    new_id = new_key_id()

    def command() -> RotatedKey:
        project, _ = require_project(app, project_id, user_id, Permission.MANAGE_API_KEYS)
        old = _key_of(project, key_id)
        now = utc_now()
        project.rotate_key(key_id, new_id, issued.digest, now, now + grace, context)
        app.save(project)
        return RotatedKey(
            new=issued_key(project, new_id, issued, now),
            old=ChangedKey(key_view(project, old, now), old.digest, project.version),
        )

    return retry_on_conflict(command)
