"""The application factory: wiring of routers, error handlers, middleware and clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from importlib.metadata import version

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware

from pulse.api.auth import install_auth
from pulse.api.context import REQUEST_ID_HEADER
from pulse.api.error_mapping import install_error_mapping
from pulse.api.idempotency import IdempotencyMiddleware
from pulse.api.middleware import (
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from pulse.api.openapi import PulseAPI, problem_responses
from pulse.api.problems import (
    Problem,
    http_exception_handler,
    unhandled_exception_handler,
    validation_exception_handler,
)
from pulse.api.ratelimit import RateLimitMiddleware
from pulse.api.request_metering import RequestMeteringMiddleware
from pulse.api.routes import (
    api_keys,
    audit_logs,
    billing,
    health,
    invitations,
    livekit_webhooks,
    media_egress,
    media_ingress,
    members,
    organizations,
    projects,
    regions,
    room_sessions,
    rooms,
    status,
    tokens,
    usage,
    webhook_deliveries,
    webhook_endpoints,
)
from pulse.clients import open_clients
from pulse.config import Settings, get_settings
from pulse.logging import configure_logging, get_logger
from pulse.services.provider import ApplicationProvider

log = get_logger(__name__)

DOCS_URL = "/docs"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with open_clients(settings, app_name="pulse-api") as clients:
        app.state.clients = clients
        app.state.pulse = ApplicationProvider(settings)
        log.info("api_started", environment=settings.environment)
        try:
            yield
        finally:
            log.info("api_stopping")
            app.state.pulse.close()
            del app.state.clients, app.state.pulse


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    app = PulseAPI(
        title="Pulse",
        summary="Control plane for LiveKit.",
        version=version("pulse"),
        lifespan=lifespan,
        docs_url=DOCS_URL,
        redoc_url=None,
        responses=problem_responses((HTTPStatus.INTERNAL_SERVER_ERROR, Problem)),
    )
    app.state.settings = settings
    app.idempotency_exempt = tuple(settings.idempotency_exempt_prefixes)

    app.add_exception_handler(HTTPException, http_exception_handler)
    app.add_exception_handler(RequestValidationError, validation_exception_handler)
    app.add_exception_handler(Exception, unhandled_exception_handler)
    install_error_mapping(app)

    # add_middleware wraps what is already there: the last added runs first.
    # Metering reads the principal and path parameters the route leaves on the scope;
    # innermost, it sees the route's own status and no replayed idempotent answer.
    app.add_middleware(RequestMeteringMiddleware, settings=settings)
    # Idempotency buffers keyed POST bodies, so it sits inside the body limit.
    app.add_middleware(IdempotencyMiddleware, settings=settings)
    app.add_middleware(BodySizeLimitMiddleware, max_body_size=settings.max_request_body_bytes)
    # Rate limits refuse before any body is read; inside CORS so a 429 is readable.
    app.add_middleware(RateLimitMiddleware, settings=settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                REQUEST_ID_HEADER,
                "X-Pulse-Key",
                "Idempotency-Key",
            ],
            expose_headers=[
                REQUEST_ID_HEADER,
                "Location",
                "RateLimit",
                "RateLimit-Policy",
                "Retry-After",
                "Idempotent-Replayed",
                "Idempotent-Original-Request-ID",
            ],
        )
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(
        SecurityHeadersMiddleware, docs_paths=frozenset({DOCS_URL, f"{DOCS_URL}/oauth2-redirect"})
    )

    app.include_router(health.router)
    install_auth(app)
    for module in (
        organizations,
        projects,
        api_keys,
        members,
        invitations,
        tokens,
        rooms,
        room_sessions,
        livekit_webhooks,
        media_egress,
        media_ingress,
        regions,
        status,
        webhook_endpoints,
        webhook_deliveries,
        usage,
        billing,
        audit_logs,
    ):
        app.include_router(module.router)
    return app
