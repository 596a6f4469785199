"""Project commands: create (with its first API key), update, soft delete, regenerate keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pulse.domain.context import CommandContext
from pulse.domain.project import Project
from pulse.domain.roles import Permission
from pulse.services.application import PulseApplication
from pulse.services.authorization import require, require_project
from pulse.services.clock import utc_now
from pulse.services.credentials import Digester, IssuedSecret, new_key_id
from pulse.services.retries import retry_on_conflict
from pulse.services.storage_secrets import StorageSecrets
from pulse.services.views import View, key_view, project_view


@dataclass(frozen=True)
class IssuedKey:
    """A key as the command answers it: its view, and its secret shown this once."""

    key: View
    secret: str
    digest: str


def issued_key(project: Project, key_id: str, issued: IssuedSecret, now: datetime) -> IssuedKey:
    return IssuedKey(key_view(project, project.keys[key_id], now), issued.token, issued.digest)


@dataclass(frozen=True)
class ProjectWithKey:
    project: View
    key: IssuedKey


@dataclass(frozen=True)
class RegeneratedKeys:
    project: View
    key: IssuedKey
    retired: list[View]


def create_project(
    app: PulseApplication,
    digester: Digester,
    secrets: StorageSecrets,
    organization_id: UUID,
    user_id: UUID,
    fields: dict[str, Any],
    context: CommandContext,
) -> ProjectWithKey:
    require(app, organization_id, user_id, Permission.MANAGE_PROJECTS)
    project = Project(
        organization_id=organization_id,
        name=fields["name"],
        region=fields["region"],
        webhook_url=fields.get("webhook_url"),
        storage=secrets.seal(fields.get("storage")),
        context=context,
    )
    issued = digester.new_api_secret()
    key_id, now = new_key_id(), utc_now()
    project.add_key(key_id, "default", issued.digest, now, context)
    app.save(project)
    return ProjectWithKey(project_view(project), issued_key(project, key_id, issued, now))


def get_project(app: PulseApplication, project_id: UUID, user_id: UUID) -> View:
    project, _ = require_project(app, project_id, user_id, Permission.VIEW_PROJECTS)
    return project_view(project)


def update_project(
    app: PulseApplication,
    secrets: StorageSecrets,
    project_id: UUID,
    user_id: UUID,
    changes: dict[str, Any],
    context: CommandContext,
) -> View:
    if "storage" in changes:
        changes = {**changes, "storage": secrets.seal(changes["storage"])}

    def command() -> View:
        project, _ = require_project(app, project_id, user_id, Permission.MANAGE_PROJECTS)
        project.update(changes, context)
        app.save(project)
        return project_view(project)

    return retry_on_conflict(command)


def key_digests(
    app: PulseApplication, project_id: UUID, user_id: UUID, permission: Permission
) -> list[str]:
    """Digests under which the project's keys may be cached, to forget them first."""
    project, _ = require_project(app, project_id, user_id, permission)
    return [key.digest for key in project.keys.values()]


def delete_project(
    app: PulseApplication, project_id: UUID, user_id: UUID, context: CommandContext
) -> None:
    def command() -> None:
        project, _ = require_project(app, project_id, user_id, Permission.MANAGE_PROJECTS)
        project.delete(utc_now(), context)
        app.save(project)

    retry_on_conflict(command)


def regenerate_keys(
    app: PulseApplication,
    digester: Digester,
    project_id: UUID,
    user_id: UUID,
    grace: timedelta,
    context: CommandContext,
) -> RegeneratedKeys:
    """One new key; every key still working stops after ``grace`` (zero: at once)."""
    issued = digester.new_api_secret()
    key_id = new_key_id()

    def command() -> RegeneratedKeys:
        project, _ = require_project(app, project_id, user_id, Permission.MANAGE_API_KEYS)
        now = utc_now()
        retiring = project.active_keys(now)
        project.regenerate_keys(key_id, issued.digest, now, now + grace, context)
        app.save(project)
        return RegeneratedKeys(
            project=project_view(project),
            key=issued_key(project, key_id, issued, now),
            retired=[key_view(project, key, now) for key in retiring],
        )

    return retry_on_conflict(command)
