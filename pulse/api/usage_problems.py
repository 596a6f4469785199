"""The 402 answer of a Free project that used up its participant minutes."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from pulse.api.context import request_id_of
from pulse.api.openapi import problem_responses
from pulse.api.problems import PROBLEM_MEDIA_TYPE, Problem
from pulse.services.usage_gate import UsageLimitReachedError

USAGE_LIMIT_TYPE = "/problems/usage-limit-reached"
USAGE_LIMIT_TITLE = "Usage limit reached"


def usage_limit_responses() -> dict[int | str, dict[str, Any]]:
    """The 402 entry of a route's ``responses=``."""
    responses = problem_responses((HTTPStatus.PAYMENT_REQUIRED, Problem))
    responses[int(HTTPStatus.PAYMENT_REQUIRED)]["description"] = (
        f"{USAGE_LIMIT_TITLE}: the project's organization is on the Free plan and the "
        "project used the plan's participant minutes for this period (type "
        f"`{USAGE_LIMIT_TYPE}`; `meter`, `limit`, `period` and `period_ends_at` say which "
        "and until when). Refused until the period ends or the plan changes."
    )
    return responses


def usage_limit_response(request: Request, error: UsageLimitReachedError) -> JSONResponse:
    problem = Problem(
        type=USAGE_LIMIT_TYPE,
        title=USAGE_LIMIT_TITLE,
        status=HTTPStatus.PAYMENT_REQUIRED,
        detail=str(error),
        instance=request.scope.get("path", ""),
        request_id=request_id_of(request.scope),
        meter=str(error.meter),
        limit=str(error.limit),
        period=error.period,
        period_ends_at=error.ends_at,
    )
    return JSONResponse(
        jsonable_encoder(problem, exclude_none=True),
        status_code=HTTPStatus.PAYMENT_REQUIRED,
        media_type=PROBLEM_MEDIA_TYPE,
    )
