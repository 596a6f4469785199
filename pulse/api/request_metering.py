"""Metering API requests: which project a served request counts for, counted in Redis.

A request counts for a project when it was authenticated with that project's key, or
when a signed-in user called a route with a ``project_id`` path parameter. Both are
known only once the route has run: authentication puts the principal on
``request.state`` and the router puts the path parameters on the scope, so the count
is taken after the answer, never delaying or failing it.

Not counted: requests that were not authenticated (refused before any principal),
answers Pulse failed (5xx: a project does not pay for our errors), and a user's 403
or 404 on a project (a caller who may not see a project must not run up its meter).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from uuid import UUID

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pulse.api.auth import ProjectKeyPrincipal, UserPrincipal
from pulse.config import Settings
from pulse.services.api_usage import count_api_request
from pulse.services.clock import utc_now

PROJECT_PARAMETER = "project_id"
_NOT_THE_CALLERS = frozenset({HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND})


def metered_project(scope: Scope, status: int | None) -> UUID | None:
    """The project a served request counts for, or None."""
    if status is None or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return None
    state: dict[str, Any] = scope.get("state") or {}
    principal = state.get("principal")
    if isinstance(principal, ProjectKeyPrincipal):
        return principal.project_id
    if not isinstance(principal, UserPrincipal) or status in _NOT_THE_CALLERS:
        return None
    raw = (scope.get("path_params") or {}).get(PROJECT_PARAMETER)
    if isinstance(raw, UUID):
        return raw
    try:
        return UUID(str(raw)) if raw is not None else None
    except ValueError:
        return None  # Not a project id: the route answered 422 or 404 anyway.


class RequestMeteringMiddleware:
    """Counts each served request for its project (pure ASGI: nothing is buffered)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.prefix = settings.redis_key_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The route's request.state writes into this very dict, whatever copies of the
        # scope the layers in between make.
        scope.setdefault("state", {})
        arrived = utc_now()  # The hour a request is billed in is the hour it arrived.
        status: int | None = None

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, send_with_status)
        project_id = metered_project(scope, status)
        clients = getattr(getattr(scope.get("app"), "state", None), "clients", None)
        if project_id is not None and clients is not None:
            await count_api_request(clients.redis, self.prefix, project_id, arrived)
