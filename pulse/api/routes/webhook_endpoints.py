"""A project's webhook endpoints (create, list, get, update, delete, enable, disable,
rotate secret) and the public event catalog."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from http import HTTPStatus
from typing import Annotated, Any, TypeVar, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from pulse.api.auth import CurrentUser, UserPrincipal, command_context
from pulse.api.commands import run_command, run_query
from pulse.api.dependencies import ClientsDep, PulseDep, SettingsDep
from pulse.api.management_schemas import Page
from pulse.api.openapi import problem_responses
from pulse.api.pagination import Cursor, Limit, page_of
from pulse.api.problems import Problem
from pulse.api.webhook_schemas import (
    EventCatalogOut,
    IssuedWebhookEndpointOut,
    WebhookEndpointCreate,
    WebhookEndpointOut,
    WebhookEndpointUpdate,
    WebhookRotate,
)
from pulse.config import Settings
from pulse.domain.context import CommandContext
from pulse.domain.roles import Permission
from pulse.outbound.resolver import Resolver, SystemResolver
from pulse.queries.webhook_endpoints import list_endpoints
from pulse.services import webhook_endpoints
from pulse.services.application import PulseApplication
from pulse.services.webhook_catalog import CATALOG
from pulse.services.webhook_secrets import WebhookSecrets

router = APIRouter(tags=["webhooks"])

ENDPOINTS = "/v1/projects/{project_id}/webhooks/endpoints"
ONE = ENDPOINTS + "/{endpoint_id}"
_READ = problem_responses((401, Problem), (404, Problem))
_WRITE = problem_responses((401, Problem), (403, Problem), (404, Problem), (409, Problem))


def get_resolver(request: Request) -> Resolver:
    """The resolver the SSRF guard uses: the system's, unless the app was given one
    (``app.state.webhook_resolver``: tests resolve names without DNS)."""
    resolver = getattr(request.app.state, "webhook_resolver", None)
    return cast(Resolver, resolver) if resolver is not None else SystemResolver()


def get_webhook_secrets(request: Request) -> WebhookSecrets:
    return WebhookSecrets(cast(Settings, request.app.state.settings))


ResolverDep = Annotated[Resolver, Depends(get_resolver)]
WebhookSecretsDep = Annotated[WebhookSecrets, Depends(get_webhook_secrets)]


T = TypeVar("T")


async def _on_endpoint(
    request: Request,
    command: Callable[[PulseApplication, UUID, UUID, UUID, CommandContext], T],
    app: PulseApplication,
    project_id: UUID,
    endpoint_id: UUID,
    user: UserPrincipal,
) -> T:
    """Run an endpoint command that takes nothing but who acts on which endpoint."""
    context = command_context(request, user)
    return await run_command(request, command, app, project_id, user.user_id, endpoint_id, context)


def _issued(issued: webhook_endpoints.IssuedEndpoint) -> dict[str, Any]:
    return {**issued.endpoint, "secret": issued.secret}


@router.get(
    "/v1/webhooks/event-types",
    response_model=EventCatalogOut,
    summary="Every event type an endpoint can receive, with the JSON Schema of its data",
)
async def event_types() -> dict[str, Any]:
    return {
        "items": [
            {"name": t.name, "version": t.version, "description": t.description, "schema": t.schema}
            for t in CATALOG.values()
        ]
    }


@router.post(
    ENDPOINTS,
    status_code=HTTPStatus.CREATED,
    response_model=IssuedWebhookEndpointOut,
    summary="Add an endpoint; its signing secret is in this response only",
    description="Owner and Admin. The URL is refused (422) if it leads to a private, "
    "loopback, link-local or otherwise non-public address.",
    responses=_WRITE,
)
async def create(
    project_id: UUID,
    body: WebhookEndpointCreate,
    user: CurrentUser,
    app: PulseDep,
    settings: SettingsDep,
    resolver: ResolverDep,
    secrets: WebhookSecretsDep,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    # Who may act comes first: a caller who may not learns nothing about the URL.
    manage = Permission.MANAGE_WEBHOOKS
    await run_query(webhook_endpoints.authorize, app, project_id, user.user_id, manage)
    fields = body.model_dump()
    fields["url"] = await webhook_endpoints.vet_url(body.url, settings, resolver)
    issued = await run_command(
        request,
        webhook_endpoints.create_endpoint,
        app,
        secrets,
        project_id,
        user.user_id,
        fields,
        command_context(request, user),
    )
    response.headers["Location"] = f"/v1/projects/{project_id}/webhooks/endpoints/" + str(
        issued.endpoint["id"]
    )
    return _issued(issued)


@router.get(
    ENDPOINTS,
    response_model=Page[WebhookEndpointOut],
    summary="The project's endpoints, oldest first (any role; eventually consistent)",
    responses=_READ,
)
async def list_(
    project_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    enabled: Annotated[bool | None, Query(description="Only enabled (or disabled) ones.")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[WebhookEndpointOut]:
    view = Permission.VIEW_PROJECTS
    await run_query(webhook_endpoints.authorize, app, project_id, user.user_id, view)
    found = await list_endpoints(
        clients.database, str(project_id), enabled=enabled, limit=limit, cursor=cursor
    )
    return page_of(found, WebhookEndpointOut)


@router.get(
    ONE,
    response_model=WebhookEndpointOut,
    summary="One endpoint (any role; never its secret)",
    responses=_READ,
)
async def get(
    project_id: UUID, endpoint_id: UUID, user: CurrentUser, app: PulseDep
) -> dict[str, Any]:
    return await run_query(
        webhook_endpoints.get_endpoint, app, project_id, user.user_id, endpoint_id
    )


@router.patch(
    ONE,
    response_model=WebhookEndpointOut,
    summary="Change the URL (checked again), description or event types (Owner, Admin)",
    responses=_WRITE,
)
async def update(
    project_id: UUID,
    endpoint_id: UUID,
    body: WebhookEndpointUpdate,
    user: CurrentUser,
    app: PulseDep,
    settings: SettingsDep,
    resolver: ResolverDep,
    request: Request,
) -> dict[str, Any]:
    manage = Permission.MANAGE_WEBHOOKS
    await run_query(webhook_endpoints.authorize, app, project_id, user.user_id, manage)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        changes["url"] = await webhook_endpoints.vet_url(changes["url"], settings, resolver)
    return await run_command(
        request,
        webhook_endpoints.update_endpoint,
        app,
        project_id,
        user.user_id,
        endpoint_id,
        changes,
        command_context(request, user),
    )


@router.delete(
    ONE,
    status_code=HTTPStatus.NO_CONTENT,
    summary="Delete an endpoint: nothing more is sent to it (Owner, Admin)",
    responses=_WRITE,
)
async def delete(
    project_id: UUID, endpoint_id: UUID, user: CurrentUser, app: PulseDep, request: Request
) -> None:
    await _on_endpoint(
        request, webhook_endpoints.delete_endpoint, app, project_id, endpoint_id, user
    )


@router.post(
    ONE + "/enable",
    response_model=WebhookEndpointOut,
    summary="Enable an endpoint again, also after an automatic disable (Owner, Admin)",
    responses=_WRITE,
)
async def enable(
    project_id: UUID, endpoint_id: UUID, user: CurrentUser, app: PulseDep, request: Request
) -> dict[str, Any]:
    return await _on_endpoint(
        request, webhook_endpoints.enable_endpoint, app, project_id, endpoint_id, user
    )


@router.post(
    ONE + "/disable",
    response_model=WebhookEndpointOut,
    summary="Stop sending to an endpoint, keeping it (Owner, Admin)",
    responses=_WRITE,
)
async def disable(
    project_id: UUID, endpoint_id: UUID, user: CurrentUser, app: PulseDep, request: Request
) -> dict[str, Any]:
    return await _on_endpoint(
        request, webhook_endpoints.disable_endpoint, app, project_id, endpoint_id, user
    )


@router.post(
    ONE + "/rotate-secret",
    response_model=IssuedWebhookEndpointOut,
    summary="A new signing secret, in this response only; the old one also signs for "
    "the grace period (Owner, Admin)",
    responses=_WRITE,
)
async def rotate_secret(
    project_id: UUID,
    endpoint_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    settings: SettingsDep,
    secrets: WebhookSecretsDep,
    request: Request,
    body: WebhookRotate | None = None,
) -> dict[str, Any]:
    seconds = (body or WebhookRotate()).grace_seconds
    grace = timedelta(seconds=min(seconds, settings.key_rotation_max_grace_seconds))
    issued = await run_command(
        request,
        webhook_endpoints.rotate_secret,
        app,
        secrets,
        project_id,
        user.user_id,
        endpoint_id,
        grace,
        command_context(request, user),
    )
    return _issued(issued)


# -- the project's webhook_url (called by the project routes) ----------------------------


async def vet_project_url(request: Request, url: Any) -> None:
    """Refuse (422) a project ``webhook_url`` the SSRF guard refuses, before any write."""
    if url is not None:
        settings = cast(Settings, request.app.state.settings)
        await webhook_endpoints.vet_url(str(url), settings, get_resolver(request))


async def sync_project_url(
    request: Request, app: Any, project_id: UUID, fields: dict[str, Any], user: Any
) -> None:
    """Keep the project's URL endpoint in step, if the request set ``webhook_url``."""
    if "webhook_url" not in fields:
        return
    url = fields["webhook_url"]
    await run_command(
        request,
        webhook_endpoints.sync_project_url,
        app,
        get_webhook_secrets(request),
        project_id,
        None if url is None else str(url),
        command_context(request, user),
    )
