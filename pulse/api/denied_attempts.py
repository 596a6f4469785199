"""A member refused by the role matrix: what they attempted, in the route's words.

The API's error mapping calls ``record_denied_attempt`` before it answers 403, so
the attempt lands in the organization's audit log. The resource is read off the
route template: its last ``{..._id}`` parameter names it (``/v1/projects/{project_id}``
is the project; a member, named by user id in routes, is named by its Member id as
in the member's other entries), unless the template ends in a collection
(``POST /v1/projects``: a new project, no id yet). Recording never fails the
answer: a refusal that could not be recorded is logged instead.
"""

from __future__ import annotations

from typing import cast
from uuid import UUID

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from pulse.api.auth import UserPrincipal, command_context
from pulse.api.dependencies import get_clients, get_pulse
from pulse.domain.errors import NotPermittedError
from pulse.domain.member import member_id
from pulse.logging import get_logger
from pulse.projections.wakeup import wake_projections
from pulse.services.access_attempts import DeniedAttempt, record_denied

log = get_logger(__name__)

# Route parameters whose name does not say the audit log's resource type.
_TYPE_OF_PARAMETER = {
    "key_id": "api_key",
    "user_id": "member",
    "endpoint_id": "webhook_endpoint",
    "delivery_id": "webhook_delivery",
}

# Trailing collection segments: the attempt was to create one of these.
_TYPE_OF_COLLECTION = {
    "organizations": "organization",
    "projects": "project",
    "members": "member",
    "invitations": "invitation",
    "keys": "api_key",
    "endpoints": "webhook_endpoint",
}


def _member_id(organization_id: str, user_id: str) -> str:
    try:
        return str(member_id(UUID(organization_id), UUID(user_id)))
    except ValueError:
        return user_id


def resource_of(
    template: str, path_params: dict[str, str], organization_id: str
) -> tuple[str, str | None]:
    """The (type, id) a route template and its parameters point at."""
    segments = [segment for segment in template.split("/") if segment]
    if segments and segments[-1] in _TYPE_OF_COLLECTION:
        return _TYPE_OF_COLLECTION[segments[-1]], None
    for segment in reversed(segments):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            kind = _TYPE_OF_PARAMETER.get(name, name.removesuffix("_id"))
            value = path_params.get(name)
            if value is None:
                return kind, None
            if kind == "member":
                # Routes name a member by user id; the log names it as its other
                # entries do, by the Member aggregate's id.
                return kind, _member_id(organization_id, str(value))
            return kind, str(value)
    return "organization", organization_id


def denied_attempt(request: Request, error: NotPermittedError) -> DeniedAttempt | None:
    """The attempt to record, or None when the refusal is not one of the role matrix."""
    if error.organization_id is None:
        return None
    route = cast(BaseRoute | None, request.scope.get("route"))
    template = getattr(route, "path", None) or request.url.path
    resource_type, resource_id = resource_of(
        template, dict(request.path_params), str(error.organization_id)
    )
    return DeniedAttempt(
        organization_id=error.organization_id,
        project_id=error.project_id,
        action=f"{request.method} {template}",
        resource_type=resource_type,
        resource_id=resource_id,
        reason=str(error),
    )


async def record_denied_attempt(request: Request, error: NotPermittedError) -> None:
    """Record the refusal in the audit log; never raises (the 403 goes out regardless)."""
    try:
        attempt = denied_attempt(request, error)
        principal = getattr(request.state, "principal", None)
        if attempt is None or not isinstance(principal, UserPrincipal):
            return
        context = command_context(request, principal)
        await run_in_threadpool(record_denied, get_pulse(request), attempt, context)
        await wake_projections(get_clients(request))
    except Exception:
        log.exception("denied_attempt_not_recorded", path=request.url.path)
