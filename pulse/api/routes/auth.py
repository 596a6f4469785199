"""``/v1/auth``: sign-up, login, token refresh, logout, and who the caller is.

Password hashing and event-store writes are blocking, so the account commands run in
the threadpool. Failures answer with one generic message per kind, so that no answer
tells whether an email has an account.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import NoReturn

from fastapi import APIRouter, HTTPException, Request, Response
from redis.exceptions import RedisError

from pulse.api.auth import (
    BEARER_CHALLENGE,
    CurrentPrincipal,
    CurrentUser,
    UserPrincipal,
    auth_responses,
    authenticate_user,
    bearer_token,
    request_context,
    unavailable,
)
from pulse.api.commands import run_command, run_query
from pulse.api.dependencies import ClientsDep, DigesterDep, PulseDep, SettingsDep
from pulse.api.openapi import problem_responses
from pulse.api.problems import Problem
from pulse.api.schemas_auth import (
    LogInRequest,
    LogOutRequest,
    ProjectKeyWhoAmI,
    RefreshRequest,
    SessionResponse,
    SignUpRequest,
    UserResponse,
    UserWhoAmI,
    WhoAmIResponse,
)
from pulse.clients import Clients
from pulse.config import Settings
from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.errors import InvalidValueError
from pulse.logging import get_logger
from pulse.services import accounts
from pulse.services.access_tokens import INVALID_TOKEN, revoke_session_tokens
from pulse.services.clock import utc_now
from pulse.services.errors import AuthenticationError, ConflictError, NotFoundError

log = get_logger(__name__)

router = APIRouter(prefix="/v1/auth", tags=["auth"])

# Until the command knows the account, the actor is a placeholder; the account
# commands record the account's own user as the actor (see pulse.services.accounts).
_ANONYMOUS = "anonymous"

_CREDENTIALS_REFUSED = problem_responses((HTTPStatus.UNAUTHORIZED, Problem))
_CREDENTIALS_REFUSED[HTTPStatus.UNAUTHORIZED]["description"] = (
    "Unauthorized: the credentials are wrong, expired or revoked (one generic message)."
)


def _refused(error: AuthenticationError) -> NoReturn:
    raise HTTPException(
        HTTPStatus.UNAUTHORIZED, str(error), headers={"WWW-Authenticate": BEARER_CHALLENGE}
    ) from None


def _anonymous_context(request: Request, settings: Settings) -> CommandContext:
    return request_context(request, settings, ActorKind.USER, _ANONYMOUS)


@router.post(
    "/signup",
    status_code=HTTPStatus.CREATED,
    response_model=SessionResponse,
    summary="Create an account and sign in",
    description=(
        "Creates the account and its first session. The email identifies the account; "
        "a second sign-up with the same address is refused with 409. The password has "
        "12 to 256 characters."
    ),
    responses=problem_responses((HTTPStatus.CONFLICT, Problem)),
)
async def sign_up(
    body: SignUpRequest,
    request: Request,
    pulse: PulseDep,
    digester: DigesterDep,
    settings: SettingsDep,
) -> SessionResponse:
    context = _anonymous_context(request, settings)
    try:
        tokens = await run_command(
            request,
            accounts.sign_up,
            pulse,
            digester,
            settings,
            body.email,
            body.name,
            body.password.get_secret_value(),
            context,
        )
    except ConflictError as error:
        raise HTTPException(HTTPStatus.CONFLICT, str(error)) from None
    except InvalidValueError as error:
        raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, str(error)) from None
    log.info("signed_up", user_id=str(tokens.user.user_id), session_id=str(tokens.session_id))
    return SessionResponse.of(tokens, utc_now())


@router.post(
    "/login",
    response_model=SessionResponse,
    summary="Sign in with email and password",
    description=(
        "Starts a new session. A wrong password and an unknown email get the same 401 "
        "answer, in about the same time."
    ),
    responses=_CREDENTIALS_REFUSED,
)
async def log_in(
    body: LogInRequest,
    request: Request,
    pulse: PulseDep,
    digester: DigesterDep,
    settings: SettingsDep,
) -> SessionResponse:
    context = _anonymous_context(request, settings)
    try:
        tokens = await run_command(
            request,
            accounts.log_in,
            pulse,
            digester,
            settings,
            body.email,
            body.password.get_secret_value(),
            context,
        )
    except AuthenticationError as error:
        log.info("login_refused")
        _refused(error)
    log.info("logged_in", user_id=str(tokens.user.user_id), session_id=str(tokens.session_id))
    return SessionResponse.of(tokens, utc_now())


@router.post(
    "/refresh",
    response_model=SessionResponse,
    summary="Exchange a refresh token for new tokens",
    description=(
        "Rotates the session's refresh token: the one presented stops working and the "
        "answer carries its successor. Presenting an already-used refresh token ends the "
        "whole session, access tokens included (someone else holds a copy)."
    ),
    responses=_CREDENTIALS_REFUSED,
)
async def refresh(
    body: RefreshRequest,
    request: Request,
    pulse: PulseDep,
    digester: DigesterDep,
    settings: SettingsDep,
    clients: ClientsDep,
) -> SessionResponse:
    context = _anonymous_context(request, settings)
    try:
        tokens = await run_command(
            request,
            accounts.refresh,
            pulse,
            digester,
            settings,
            body.refresh_token.get_secret_value(),
            context,
        )
    except accounts.SessionRevokedError as error:
        log.warning("refresh_token_reused", session_id=str(error.session_id))
        try:
            await revoke_session_tokens(clients.redis, settings, error.session_id)
        except (RedisError, OSError) as redis_error:
            # The session is ended in the store, which is what the replayer needed to
            # hear; its access tokens stay valid until they expire (at most their TTL).
            log.error("session_token_revocation_failed", error=type(redis_error).__name__)
        _refused(error)
    except AuthenticationError as error:
        _refused(error)
    return SessionResponse.of(tokens, utc_now())


@router.post(
    "/logout",
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
    summary="End a session",
    description=(
        "Ends the session of the refresh token in the body or, without a body, the "
        "session of the access token in `Authorization`. Its access tokens are refused "
        "from the next request on. Ending an already ended session succeeds."
    ),
    responses={**_CREDENTIALS_REFUSED, **auth_responses(include_key=False)},
)
async def log_out(
    request: Request,
    pulse: PulseDep,
    digester: DigesterDep,
    settings: SettingsDep,
    clients: ClientsDep,
    body: LogOutRequest | None = None,
) -> Response:
    try:
        if body is not None:
            # The refresh token proves the session is the caller's; an expired access
            # token next to it must not stand in the way of logging out.
            ended = await run_command(
                request,
                accounts.log_out,
                pulse,
                digester,
                body.refresh_token.get_secret_value(),
                _anonymous_context(request, settings),
            )
        else:
            principal = await _bearer_user(request, settings, clients)
            ended = await run_command(
                request,
                accounts.end_session,
                pulse,
                principal.user_id,
                principal.session_id,
                request_context(request, settings, ActorKind.USER, str(principal.user_id)),
            )
    except AuthenticationError as error:
        _refused(error)
    try:
        await revoke_session_tokens(clients.redis, settings, ended.session_id)
    except (RedisError, OSError) as error:
        # The session is ended but its access tokens are not refused yet: say so, so
        # that the client retries (a repeated logout is harmless).
        unavailable(error)
    log.info("logged_out", user_id=str(ended.user_id), session_id=str(ended.session_id))
    return Response(status_code=HTTPStatus.NO_CONTENT)


async def _bearer_user(request: Request, settings: Settings, clients: Clients) -> UserPrincipal:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise AuthenticationError("A refresh token or an access token is required")
    return await authenticate_user(request, settings, clients, token)


@router.get(
    "/me",
    response_model=UserResponse,
    summary="The signed-in user",
    responses=auth_responses(include_key=False),
)
async def me(principal: CurrentUser, pulse: PulseDep) -> UserResponse:
    try:
        account = await run_query(accounts.get_account, pulse, principal.user_id)
    except NotFoundError:
        # A valid token for an account that is not there: nothing to show it.
        raise HTTPException(
            HTTPStatus.UNAUTHORIZED,
            INVALID_TOKEN,
            headers={"WWW-Authenticate": BEARER_CHALLENGE},
        ) from None
    return UserResponse.of(account)


@router.get(
    "/whoami",
    response_model=WhoAmIResponse,
    summary="Which principal the credentials authenticate",
    description=(
        "Accepts a user's access token or a project key (`X-Pulse-Key`, or HTTP Basic "
        "with the key id and secret) and says which principal it is."
    ),
    responses=auth_responses(include_key=True),
)
async def whoami(principal: CurrentPrincipal) -> UserWhoAmI | ProjectKeyWhoAmI:
    if isinstance(principal, UserPrincipal):
        return UserWhoAmI(user_id=principal.user_id, session_id=principal.session_id)
    return ProjectKeyWhoAmI(
        project_id=principal.project_id,
        organization_id=principal.organization_id,
        key_id=principal.key_id,
    )
