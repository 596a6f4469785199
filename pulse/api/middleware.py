"""Pure ASGI middleware: request context and access log, security headers, body limit.

Pure ASGI rather than ``BaseHTTPMiddleware`` so that context variables bound here
are the ones the endpoint sees, and responses are not buffered.
"""

from __future__ import annotations

import time
from http import HTTPStatus

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pulse.api.context import REQUEST_ID_HEADER, choose_request_id, remember_request_id
from pulse.api.problems import internal_error_response, problem_response
from pulse.logging import get_logger

log = get_logger("pulse.api.access")

# Nothing an API answer needs: no scripts, no frames, no form posts, no base tag.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The interactive docs page loads Swagger UI from its CDN and runs an inline script.
DOCS_CSP = (
    "default-src 'none'; script-src https://cdn.jsdelivr.net 'unsafe-inline'; "
    "style-src https://cdn.jsdelivr.net 'unsafe-inline'; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.jsdelivr.net; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeadersMiddleware:
    """Hardening headers on every response, including those built by other middleware."""

    def __init__(self, app: ASGIApp, docs_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] in self.docs_paths else API_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                headers["Content-Security-Policy"] = csp
                # Errors and probe answers describe one moment; no cache may replay them.
                if message["status"] >= 400 or "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestContextMiddleware:
    """Request id, one access line per request, and the last-resort 500 problem.

    Unhandled errors are caught here rather than by Starlette's outermost error
    middleware so the 500 answer still carries the request id, and the traceback
    is logged while the request id is still bound.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = choose_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        remember_request_id(scope, request_id)
        status: int | None = None
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                log.exception("unhandled_exception", method=scope["method"], path=scope["path"])
                if status is not None:
                    raise  # Headers are gone; only the server can abort the connection.
                await internal_error_response(scope)(scope, receive, send_with_id)
            finally:
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                )


class BodySizeLimitMiddleware:
    """Starlette's body limit, answering a declared oversize with a problem document.

    Starlette counts streamed bytes and raises a 413 HTTPException, which the problem
    handlers render; but for a Content-Length over the limit it would answer in plain
    text, so that case is refused here before the application runs.
    """

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.max_body_size = max_body_size
        self.limited = RequestBodyLimitMiddleware(app, max_body_size=max_body_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = Headers(scope=scope).get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body_size:
                response = problem_response(
                    scope,
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"The request body exceeds the limit of {self.max_body_size} bytes.",
                )
                await response(scope, receive, send)
                return
        await self.limited(scope, receive, send)
