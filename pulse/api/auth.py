"""Who is calling: FastAPI dependencies for users and project keys, and the auth hooks.

- ``CurrentUser``: ``Authorization: Bearer <access token>`` of a live session.
- ``CurrentProjectKey``: ``X-Pulse-Key: sk_...`` or HTTP Basic ``pk_...:sk_...``.
- ``CurrentPrincipal``: either of them.

Each refusal is a 401 problem with a ``WWW-Authenticate`` challenge; a request that
presents both a user token and a project key is refused too, rather than guessing
which one was meant. The authenticated principal is also put on
``request.state.principal`` for middleware that runs after the route.

``install_auth(app)`` adds the ``/v1/auth`` routes and the hooks the idempotency and
rate-limit middleware call before any route runs (``idempotency_scope``,
``rate_limit_project``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any, NoReturn, cast
from uuid import UUID

from fastapi import Depends, FastAPI, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.http import HTTPBase
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from pulse.api.client_ip import client_ip_of, resolve_client_ip
from pulse.api.context import request_id_of
from pulse.api.dependencies import ClientsDep, SettingsDep
from pulse.api.openapi import problem_responses
from pulse.api.problems import Problem
from pulse.clients import Clients
from pulse.config import Settings
from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.organization import Organization
from pulse.domain.project import Project
from pulse.logging import get_logger
from pulse.services.access_tokens import (
    INVALID_TOKEN,
    AccessClaims,
    is_session_revoked,
    verify_access_token,
)
from pulse.services.api_key_auth import (
    API_KEY_HEADER,
    ApiKeyAuthenticator,
    PresentedKey,
    read_presented_key,
)
from pulse.services.credentials import digester_of
from pulse.services.errors import AuthenticationError
from pulse.services.passwords import warm_up
from pulse.services.provider import ApplicationProvider

log = get_logger(__name__)

REALM = "pulse"
BEARER_CHALLENGE = f'Bearer realm="{REALM}"'
KEY_CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'
AMBIGUOUS = "Present either an access token or a project key, not both"
UNAVAILABLE = "Authentication is temporarily unavailable; retry shortly."
MAX_USER_AGENT_LENGTH = 512  # Kept in events forever; a long one adds nothing.

# Declared for the OpenAPI document (security schemes, the "Authorize" button). They
# never refuse by themselves (auto_error=False): the dependencies below parse the
# headers and answer with problem documents.
bearer_scheme = HTTPBearer(
    bearerFormat="JWT",
    scheme_name="AccessToken",
    description="A user's access token from `/v1/auth/login` or `/v1/auth/signup`.",
    auto_error=False,
)
key_header_scheme = APIKeyHeader(
    name=API_KEY_HEADER,
    scheme_name="ProjectKey",
    description="A project API key's secret (`sk_...`).",
    auto_error=False,
)
key_basic_scheme = HTTPBase(
    scheme="basic",
    scheme_name="ProjectKeyBasic",
    description="HTTP Basic with a project key's id as user (`pk_...`) and secret as password.",
    auto_error=False,
)


@dataclass(frozen=True, slots=True)
class UserPrincipal:
    user_id: UUID
    session_id: UUID


@dataclass(frozen=True, slots=True)
class ProjectKeyPrincipal:
    project_id: UUID
    organization_id: UUID
    key_id: str
    region: str | None = None
    """The project's region, when the key check knew it (it does from the cache)."""


Principal = UserPrincipal | ProjectKeyPrincipal


# -- Errors ------------------------------------------------------------------------------


def _refuse(detail: str, challenge: str) -> NoReturn:
    raise HTTPException(HTTPStatus.UNAUTHORIZED, detail, headers={"WWW-Authenticate": challenge})


def _invalid_bearer(detail: str = INVALID_TOKEN) -> NoReturn:
    # RFC 6750 section 3: say that the token was the problem, not its absence.
    _refuse(detail, f'{BEARER_CHALLENGE}, error="invalid_token", error_description="{detail}"')


def unavailable(error: Exception) -> NoReturn:
    # Fail closed: without Redis a logged-out session or a revoked key cannot be told
    # apart from a live one, and MongoDB is needed to look a key up.
    log.warning("authentication_unavailable", error=type(error).__name__)
    raise HTTPException(HTTPStatus.SERVICE_UNAVAILABLE, UNAVAILABLE) from None


def auth_responses(*, include_key: bool) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that requires authentication."""
    responses = problem_responses(
        (HTTPStatus.UNAUTHORIZED, Problem), (HTTPStatus.SERVICE_UNAVAILABLE, Problem)
    )
    responses[HTTPStatus.UNAUTHORIZED]["description"] = (
        "Unauthorized: credentials missing, invalid, expired or revoked."
    )
    responses[HTTPStatus.UNAUTHORIZED]["headers"] = {
        "WWW-Authenticate": {
            "description": "The challenge: `Bearer`"
            + (" and/or `Basic` (project keys)." if include_key else "."),
            "schema": {"type": "string"},
        }
    }
    responses[HTTPStatus.SERVICE_UNAVAILABLE]["description"] = (
        "Service Unavailable: the session or key state could not be read; retry."
    )
    return responses


# -- Reading credentials ---------------------------------------------------------------


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _presented_key(request: Request) -> PresentedKey | None:
    try:
        return read_presented_key(
            request.headers.get(API_KEY_HEADER), request.headers.get("authorization")
        )
    except AuthenticationError as error:
        _refuse(str(error), KEY_CHALLENGE)


async def authenticate_user(
    request: Request, settings: Settings, clients: Clients, token: str
) -> UserPrincipal:
    """Check an access token and that its session was not ended; 401 otherwise."""
    try:
        claims: AccessClaims = verify_access_token(settings, token)
    except AuthenticationError as error:
        _invalid_bearer(str(error))
    try:
        revoked = await is_session_revoked(clients.redis, settings, claims.session_id)
    except (RedisError, OSError) as error:
        unavailable(error)
    if revoked:
        _invalid_bearer()
    principal = UserPrincipal(user_id=claims.user_id, session_id=claims.session_id)
    request.state.principal = principal
    return principal


def key_authenticator(
    request: Request, settings: Settings, clients: Clients
) -> ApiKeyAuthenticator:
    provider = cast(ApplicationProvider, request.app.state.pulse)
    return ApiKeyAuthenticator(
        redis=clients.redis,
        database=clients.database,
        load_project=lambda project_id: provider.get().load(project_id, Project),
        load_organization=lambda organization_id: provider.get().load(
            organization_id, Organization
        ),
        digester=digester_of(settings),
        settings=settings,
    )


async def authenticate_key(
    request: Request, settings: Settings, clients: Clients, presented: PresentedKey
) -> ProjectKeyPrincipal:
    authenticator = key_authenticator(request, settings, clients)
    try:
        state = await authenticator.authenticate(presented)
    except AuthenticationError as error:
        _refuse(str(error), KEY_CHALLENGE)
    except (RedisError, PyMongoError, OSError) as error:
        unavailable(error)
    principal = ProjectKeyPrincipal(
        project_id=state.project_id,
        organization_id=state.organization_id,
        key_id=state.key_id,
        region=state.region,
    )
    request.state.principal = principal
    return principal


# -- Dependencies ----------------------------------------------------------------------


async def current_user(
    request: Request,
    settings: SettingsDep,
    clients: ClientsDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> UserPrincipal:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        _refuse("An access token is required", BEARER_CHALLENGE)
    if request.headers.get(API_KEY_HEADER) is not None:
        _refuse(AMBIGUOUS, BEARER_CHALLENGE)
    return await authenticate_user(request, settings, clients, token)


async def current_project_key(
    request: Request,
    settings: SettingsDep,
    clients: ClientsDep,
    _header: Annotated[str | None, Security(key_header_scheme)],
    _basic: Annotated[HTTPAuthorizationCredentials | None, Security(key_basic_scheme)],
) -> ProjectKeyPrincipal:
    if bearer_token(request.headers.get("authorization")) is not None:
        if request.headers.get(API_KEY_HEADER) is not None:
            _refuse(AMBIGUOUS, KEY_CHALLENGE)
        _refuse("This endpoint takes a project key, not an access token", KEY_CHALLENGE)
    presented = _presented_key(request)
    if presented is None:
        _refuse("A project key is required", KEY_CHALLENGE)
    return await authenticate_key(request, settings, clients, presented)


async def current_principal(
    request: Request,
    settings: SettingsDep,
    clients: ClientsDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    _header: Annotated[str | None, Security(key_header_scheme)],
    _basic: Annotated[HTTPAuthorizationCredentials | None, Security(key_basic_scheme)],
) -> Principal:
    token = bearer_token(request.headers.get("authorization"))
    has_key_header = request.headers.get(API_KEY_HEADER) is not None
    if token is not None and has_key_header:
        _refuse(AMBIGUOUS, f"{BEARER_CHALLENGE}, {KEY_CHALLENGE}")
    if token is not None:
        return await authenticate_user(request, settings, clients, token)
    presented = _presented_key(request)
    if presented is None:
        _refuse("Credentials are required", f"{BEARER_CHALLENGE}, {KEY_CHALLENGE}")
    return await authenticate_key(request, settings, clients, presented)


CurrentUser = Annotated[UserPrincipal, Depends(current_user)]
CurrentProjectKey = Annotated[ProjectKeyPrincipal, Depends(current_project_key)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


# -- Command context -------------------------------------------------------------------


def request_context(
    request: Request, settings: Settings, actor_kind: ActorKind, actor_id: str
) -> CommandContext:
    """The ``CommandContext`` of a command made by this request on behalf of an actor."""
    user_agent = request.headers.get("user-agent")
    return CommandContext(
        actor_kind=actor_kind,
        actor_id=actor_id,
        # The rate-limit middleware resolves the address once; resolve it here when
        # that middleware is not installed (it applies the same trusted-proxy rule).
        ip=client_ip_of(request.scope)
        or resolve_client_ip(request.scope, settings.trusted_proxies),
        user_agent=user_agent[:MAX_USER_AGENT_LENGTH] if user_agent else None,
        request_id=request_id_of(request.scope),
    )


def command_context(request: Request, principal: Principal) -> CommandContext:
    """The ``CommandContext`` of a command the authenticated ``principal`` makes."""
    settings = cast(Settings, request.app.state.settings)
    if isinstance(principal, UserPrincipal):
        return request_context(request, settings, ActorKind.USER, str(principal.user_id))
    return request_context(request, settings, ActorKind.API_KEY, principal.key_id)


async def current_command_context(request: Request, principal: CurrentPrincipal) -> CommandContext:
    return command_context(request, principal)


async def current_user_command_context(request: Request, principal: CurrentUser) -> CommandContext:
    return command_context(request, principal)


# The context of the authenticated caller (user or key), or of a user only.
PrincipalContext = Annotated[CommandContext, Depends(current_command_context)]
UserContext = Annotated[CommandContext, Depends(current_user_command_context)]


# -- Hooks for the middleware ----------------------------------------------------------


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def idempotency_scope(request: Request) -> str | None:
    """Whose idempotency keys these are; runs in middleware, before any dependency.

    Cheap by design: a user token is checked by signature and claims only (no Redis),
    a key by the SHA-256 of its secret (no lookup). Credentials that do not check out
    still get a scope of their own, so two callers never share stored answers; the
    route refuses them anyway.
    """
    settings = cast(Settings, request.app.state.settings)
    authorization = request.headers.get("authorization")
    api_key = request.headers.get(API_KEY_HEADER)
    token = bearer_token(authorization)
    if token is not None:
        try:
            return f"user:{verify_access_token(settings, token).user_id}"
        except AuthenticationError:
            pass
    else:
        try:
            presented = read_presented_key(api_key, authorization)
        except AuthenticationError:
            presented = None
        if presented is not None:
            return f"key:{presented.scope()}"
    if authorization is None and api_key is None:
        return None
    return "credential:" + _sha256(json.dumps([authorization, api_key]))


async def rate_limit_project(request: Request) -> str | None:
    """The project of a key-authenticated request, if the key cache already vouches for it.

    Only the cache is read: a key not cached yet is looked up by the route, which
    fills the cache for the next request. Errors mean "no project", never a failure.
    """
    clients = getattr(request.app.state, "clients", None)
    if clients is None or bearer_token(request.headers.get("authorization")) is not None:
        return None
    try:
        presented = read_presented_key(
            request.headers.get(API_KEY_HEADER), request.headers.get("authorization")
        )
        if presented is None:
            return None
        settings = cast(Settings, request.app.state.settings)
        project_id = await key_authenticator(request, settings, clients).cached_project(presented)
    except (AuthenticationError, RedisError, OSError):
        return None
    return str(project_id) if project_id is not None else None


def install_auth(app: FastAPI) -> None:
    """Add ``/v1/auth`` and point the middleware hooks at the authenticated principal."""
    # Imported here: the routes depend on this module's dependencies.
    from pulse.api.routes import auth as auth_routes

    app.include_router(auth_routes.router)
    app.state.idempotency_scope = idempotency_scope
    app.state.rate_limit_project = rate_limit_project
    # The first login for an unknown email would otherwise also pay for making the
    # dummy hash, and be measurably slower than a login for a known one.
    warm_up()
