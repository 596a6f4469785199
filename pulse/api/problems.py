"""RFC 9457 problem details: the one error format of the API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.types import Scope

from pulse.api.context import request_id_of
from pulse.logging import get_logger

PROBLEM_MEDIA_TYPE = "application/problem+json"

# "about:blank" means "nothing beyond the status code" (RFC 9457, section 4.2.1);
# problems that add members get their own type, documented in docs/operations.md.
BLANK_TYPE = "about:blank"
VALIDATION_TYPE = "/problems/validation-error"
NOT_READY_TYPE = "/problems/not-ready"

INTERNAL_ERROR_DETAIL = (
    "The server could not complete the request. Quote the request id when reporting it."
)

log = get_logger(__name__)


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default=BLANK_TYPE, description="URI reference naming the problem type.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="HTTP status code of this occurrence.")
    detail: str = Field(description="Explanation specific to this occurrence.")
    instance: str = Field(description="Path of the request that caused the problem.")
    request_id: str | None = Field(
        default=None, description="The X-Request-ID of the request; quote it in reports."
    )


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where the invalid value is, e.g. ['query', 'limit'].")
    msg: str
    type: str


class ValidationProblem(Problem):
    """The request failed validation; ``errors`` lists each invalid field."""

    type: str = Field(default=VALIDATION_TYPE, description="URI reference naming the problem type.")
    errors: list[FieldError]


def problem_response(
    scope: Scope,
    status: int,
    detail: str,
    *,
    type_: str = BLANK_TYPE,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """Build a problem response; works from middleware, where there is no Request yet."""
    problem = Problem(
        type=type_,
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=scope.get("path", ""),
        request_id=request_id_of(scope),
        **extensions,
    )
    return JSONResponse(
        jsonable_encoder(problem, exclude_none=True),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_MEDIA_TYPE,
    )


def _field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    # Only location, message and kind: the rejected input may be a secret.
    return [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in errors
    ]


async def http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(request.scope, exc.status_code, detail, headers=exc.headers)


async def validation_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc.errors())
    return problem_response(
        request.scope,
        HTTPStatus.UNPROCESSABLE_ENTITY,
        f"The request has {len(errors)} invalid field(s); see errors.",
        type_=VALIDATION_TYPE,
        errors=errors,
    )


async def unhandled_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    """Last resort, for errors raised outside the request middleware's own guard."""
    log.error("unhandled_exception", exc_info=exc)
    return internal_error_response(request.scope)


def internal_error_response(scope: Scope) -> JSONResponse:
    return problem_response(scope, HTTPStatus.INTERNAL_SERVER_ERROR, INTERNAL_ERROR_DETAIL)
