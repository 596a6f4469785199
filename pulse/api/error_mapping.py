"""Domain and service refusals as RFC 9457 problems with the status that fits each."""

from __future__ import annotations

from http import HTTPStatus

from eventsourcing.persistence import IntegrityError, OperationalError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from pulse.api.denied_attempts import record_denied_attempt
from pulse.api.problems import problem_response
from pulse.domain.errors import (
    DeletedError,
    ExpiredError,
    InvalidValueError,
    InvariantError,
    NotPermittedError,
)
from pulse.livekit.errors import MediaRefusedError, MediaUnavailableError
from pulse.services.errors import (
    AuthenticationError,
    ConflictError,
    InvalidTokenError,
    NotFoundError,
)

STATUS_OF: dict[type[Exception], HTTPStatus] = {
    NotFoundError: HTTPStatus.NOT_FOUND,
    # A deleted resource is gone for the API; its events are kept.
    DeletedError: HTTPStatus.NOT_FOUND,
    NotPermittedError: HTTPStatus.FORBIDDEN,
    AuthenticationError: HTTPStatus.UNAUTHORIZED,
    ConflictError: HTTPStatus.CONFLICT,
    InvariantError: HTTPStatus.CONFLICT,
    ExpiredError: HTTPStatus.CONFLICT,
    InvalidValueError: HTTPStatus.UNPROCESSABLE_ENTITY,
    InvalidTokenError: HTTPStatus.UNPROCESSABLE_ENTITY,
    # Two commands created the same aggregate at once; the loser is told to look again.
    IntegrityError: HTTPStatus.CONFLICT,
    # LiveKit (or a worker it needs, such as egress) cannot serve the request now.
    MediaUnavailableError: HTTPStatus.SERVICE_UNAVAILABLE,
    MediaRefusedError: HTTPStatus.BAD_GATEWAY,
    # A dependency is down: nothing was done (or the outcome is reported as unknown).
    OperationalError: HTTPStatus.SERVICE_UNAVAILABLE,
    ConnectionFailure: HTTPStatus.SERVICE_UNAVAILABLE,
    RedisConnectionError: HTTPStatus.SERVICE_UNAVAILABLE,
    RedisTimeoutError: HTTPStatus.SERVICE_UNAVAILABLE,
}

_DETAIL_OF: dict[type[Exception], str] = {
    NotFoundError: "The resource does not exist, or you may not see it.",
    IntegrityError: "The resource was created or changed concurrently; reload it and retry.",
    OperationalError: "A service Pulse depends on is unavailable; try again shortly.",
    ConnectionFailure: "A service Pulse depends on is unavailable; try again shortly.",
    RedisConnectionError: "A service Pulse depends on is unavailable; try again shortly.",
    RedisTimeoutError: "A service Pulse depends on is unavailable; try again shortly.",
}


async def refusal_handler(request: Request, exc: Exception) -> JSONResponse:
    kind = next(k for k in STATUS_OF if isinstance(exc, k))
    status = STATUS_OF[kind]
    if isinstance(exc, NotPermittedError):
        # A member refused by the role matrix: the attempt goes to the audit log.
        await record_denied_attempt(request, exc)
    # Not-found details would say which id exists elsewhere: keep them generic.
    detail = _DETAIL_OF.get(kind) or str(exc) or status.phrase
    headers = {"WWW-Authenticate": "Bearer"} if status is HTTPStatus.UNAUTHORIZED else None
    return problem_response(request.scope, status, detail, headers=headers)


def install_error_mapping(app: FastAPI) -> None:
    for kind in STATUS_OF:
        app.add_exception_handler(kind, refusal_handler)
