"""Webhook endpoint commands: create, get, update, delete, enable, disable, rotate secret.

Authorization is the API keys' rule: any member of the project's organization may
read, changing needs ``MANAGE_WEBHOOKS``, and anyone else learns nothing (404). A URL
is vetted by the SSRF guard (``vet_url``, async: it may resolve the host) before the
command that stores it; the signing secret is returned once and kept sealed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from pulse.config import Settings
from pulse.domain.context import CommandContext
from pulse.domain.errors import InvalidValueError
from pulse.domain.project import Project
from pulse.domain.roles import Permission
from pulse.domain.webhook_endpoint import DisabledBy, WebhookEndpoint, check_event_types
from pulse.outbound.guard import check_url
from pulse.outbound.resolver import Resolver
from pulse.services.application import PulseApplication
from pulse.services.authorization import require_project
from pulse.services.clock import utc_now
from pulse.services.errors import NotFoundError
from pulse.services.retries import retry_on_conflict
from pulse.services.views import View, ms
from pulse.services.webhook_catalog import CATALOG
from pulse.services.webhook_secrets import WebhookSecrets, new_secret

MAX_DESCRIPTION = 500
_PROJECT_ENDPOINT_NAMESPACE = uuid5(NAMESPACE_URL, "https://pulse.dev/webhooks/project-url")


@dataclass(frozen=True)
class IssuedEndpoint:
    """An endpoint as a command answers it, with its plain secret shown this once."""

    endpoint: View
    secret: str


def endpoint_view(endpoint: WebhookEndpoint) -> View:
    """The fields of ``rm_webhook_endpoints`` (never the secret), as the lists show it."""
    return {
        "id": str(endpoint.id),
        "project_id": str(endpoint.project_id),
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "enabled": endpoint.enabled,
        "disabled_by": None if endpoint.disabled_by is None else str(endpoint.disabled_by),
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": ms(endpoint.failing_since),
        "created_at": ms(endpoint.created_on),
        "updated_at": ms(endpoint.modified_on),
    }


async def vet_url(url: str, settings: Settings, resolver: Resolver) -> str:
    """The URL if Pulse may send webhooks to it (else ``InvalidValueError``: 422)."""
    await check_url(url, settings, resolver)
    return url


def _fields(changes: dict[str, Any]) -> dict[str, Any]:
    checked = dict(changes)
    if "event_types" in checked:
        checked["event_types"] = check_event_types(checked["event_types"] or [], list(CATALOG))
    if "description" in checked:
        description = str(checked["description"] or "")
        if len(description) > MAX_DESCRIPTION:
            raise InvalidValueError(f"description is longer than {MAX_DESCRIPTION} characters")
        checked["description"] = description
    return checked


def authorize(
    app: PulseApplication, project_id: UUID, user_id: UUID, permission: Permission
) -> Project:
    """The project if the caller may act on its webhooks (checked before a URL is vetted,
    so that a caller who may not change anything learns nothing about the URL)."""
    project, _ = require_project(app, project_id, user_id, permission)
    return project


def live_endpoint(app: PulseApplication, project_id: UUID, endpoint_id: UUID) -> WebhookEndpoint:
    """The project's endpoint; another project's (or a deleted one) is not found."""
    endpoint = app.load(endpoint_id, WebhookEndpoint)
    # Another project's endpoint does not exist, as far as this caller is concerned.
    if endpoint.project_id != project_id or endpoint.deleted:
        raise NotFoundError(f"Webhook endpoint {endpoint_id}")
    return endpoint


def endpoint_in(
    app: PulseApplication,
    project_id: UUID,
    user_id: UUID,
    endpoint_id: UUID,
    permission: Permission,
) -> tuple[WebhookEndpoint, Project]:
    """The project's endpoint and the project, if the caller may; else not found."""
    project, _ = require_project(app, project_id, user_id, permission)
    return live_endpoint(app, project_id, endpoint_id), project


def create_endpoint(
    app: PulseApplication,
    secrets: WebhookSecrets,
    project_id: UUID,
    user_id: UUID,
    fields: dict[str, Any],
    context: CommandContext,
    endpoint_id: UUID | None = None,
) -> IssuedEndpoint:
    """A new endpoint with a new secret; ``fields['url']`` must have been vetted."""
    checked = _fields({"description": "", "event_types": [], **fields})
    secret = new_secret()
    require_project(app, project_id, user_id, Permission.MANAGE_WEBHOOKS)
    endpoint = WebhookEndpoint(
        aggregate_id=endpoint_id or uuid4(),
        project_id=project_id,
        url=str(checked["url"]),
        description=checked["description"],
        event_types=checked["event_types"],
        sealed_secret=secrets.seal(secret),
        context=context,
    )
    app.save(endpoint)
    return IssuedEndpoint(endpoint_view(endpoint), secret)


def get_endpoint(app: PulseApplication, project_id: UUID, user_id: UUID, endpoint_id: UUID) -> View:
    endpoint, _ = endpoint_in(app, project_id, user_id, endpoint_id, Permission.VIEW_PROJECTS)
    return endpoint_view(endpoint)


def update_endpoint(
    app: PulseApplication,
    project_id: UUID,
    user_id: UUID,
    endpoint_id: UUID,
    changes: dict[str, Any],
    context: CommandContext,
) -> View:
    """Change url (vetted by the caller), description or event_types."""
    checked = _fields(changes)
    return _change(
        app, project_id, user_id, endpoint_id, lambda endpoint: endpoint.update(checked, context)
    )


def delete_endpoint(
    app: PulseApplication,
    project_id: UUID,
    user_id: UUID,
    endpoint_id: UUID,
    context: CommandContext,
) -> None:
    def command() -> None:
        endpoint, _ = endpoint_in(app, project_id, user_id, endpoint_id, Permission.MANAGE_WEBHOOKS)
        endpoint.delete(context)
        app.save(endpoint)

    retry_on_conflict(command)


def enable_endpoint(
    app: PulseApplication,
    project_id: UUID,
    user_id: UUID,
    endpoint_id: UUID,
    context: CommandContext,
) -> View:
    return _change(app, project_id, user_id, endpoint_id, lambda endpoint: endpoint.enable(context))


def disable_endpoint(
    app: PulseApplication,
    project_id: UUID,
    user_id: UUID,
    endpoint_id: UUID,
    context: CommandContext,
) -> View:
    def disable(endpoint: WebhookEndpoint) -> bool:
        return endpoint.disable(DisabledBy.USER, "Disabled by a user", utc_now(), context)

    return _change(app, project_id, user_id, endpoint_id, disable)


def _change(
    app: PulseApplication,
    project_id: UUID,
    user_id: UUID,
    endpoint_id: UUID,
    change: Callable[[WebhookEndpoint], bool],
) -> View:
    """Apply ``change`` (True if it recorded an event) for a member allowed to manage."""

    def command() -> View:
        endpoint, _ = endpoint_in(app, project_id, user_id, endpoint_id, Permission.MANAGE_WEBHOOKS)
        if change(endpoint):
            app.save(endpoint)
        return endpoint_view(endpoint)

    return retry_on_conflict(command)


def rotate_secret(
    app: PulseApplication,
    secrets: WebhookSecrets,
    project_id: UUID,
    user_id: UUID,
    endpoint_id: UUID,
    grace: timedelta,
    context: CommandContext,
) -> IssuedEndpoint:
    """A new secret; the previous one also signs for ``grace`` (zero: stops at once)."""
    secret = new_secret()
    sealed = secrets.seal(secret)

    def command() -> IssuedEndpoint:
        endpoint, _ = endpoint_in(app, project_id, user_id, endpoint_id, Permission.MANAGE_WEBHOOKS)
        until: datetime | None = utc_now() + grace if grace > timedelta(0) else None
        endpoint.rotate_secret(sealed, until, context)
        app.save(endpoint)
        return IssuedEndpoint(endpoint_view(endpoint), secret)

    return retry_on_conflict(command)


# -- the project's webhook_url ------------------------------------------------------------
#
# A project's single ``webhook_url`` (from before endpoints existed) is one endpoint with
# an id derived from the project id, kept in step by the project routes: setting the URL
# creates or re-points it, clearing it deletes it. Its secret is not shown (the project
# answer has no place for it): ``rotate-secret`` issues one. If a user deleted that
# endpoint, the next URL gets a new one under the next derived id, so the sync never
# refuses (the project change it follows is already saved).


def _project_endpoint_ids(project_id: UUID) -> Iterator[UUID]:
    generation = 1
    while True:
        suffix = "" if generation == 1 else f":{generation}"
        yield uuid5(_PROJECT_ENDPOINT_NAMESPACE, f"{project_id}{suffix}")
        generation += 1


def _live_project_endpoint(
    app: PulseApplication, project_id: UUID
) -> tuple[UUID, WebhookEndpoint | None]:
    """The live endpoint of the project's URL, or the id a new one would take."""
    for candidate in _project_endpoint_ids(project_id):
        try:
            endpoint = app.load(candidate, WebhookEndpoint)
        except NotFoundError:
            return candidate, None
        if not endpoint.deleted:
            return candidate, endpoint
    raise AssertionError("unreachable")  # pragma: no cover


def sync_project_url(
    app: PulseApplication,
    secrets: WebhookSecrets,
    project_id: UUID,
    url: str | None,
    context: CommandContext,
) -> View | None:
    """Make the project's URL endpoint match ``url`` (vetted); None if there is none."""

    def command() -> View | None:
        endpoint_id, endpoint = _live_project_endpoint(app, project_id)
        if url is None:
            if endpoint is not None:
                endpoint.delete(context)
                app.save(endpoint)
            return None
        if endpoint is None:
            endpoint = WebhookEndpoint(
                aggregate_id=endpoint_id,
                project_id=project_id,
                url=url,
                description="The project's webhook_url",
                event_types=[],
                sealed_secret=secrets.seal(new_secret()),
                context=context,
            )
            app.save(endpoint)
        elif endpoint.update({"url": url}, context):
            app.save(endpoint)
        return endpoint_view(endpoint)

    return retry_on_conflict(command)
