"""The answer when LiveKit refused a media request that Pulse had recorded.

The egress or ingress exists (as ``failed``, with LiveKit's reason): the problem
says so and names it (``<kind>_id`` and the resource under ``<kind>``), so the
caller can look at it again. The status is the one LiveKit's refusal maps to,
typically 503 when LiveKit has no egress or ingress service to hand it to.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import Request
from fastapi.responses import JSONResponse

from pulse.api.error_mapping import STATUS_OF
from pulse.api.problems import problem_response
from pulse.services.media_calls import MediaRequestFailedError


def status_of(error: Exception) -> HTTPStatus:
    for kind, status in STATUS_OF.items():
        if isinstance(error, kind):
            return status
    return HTTPStatus.BAD_GATEWAY


def media_failure_response(request: Request, failure: MediaRequestFailedError) -> JSONResponse:
    resource_id = failure.resource["id"]
    reason = str(failure).rstrip(". ")
    detail = f"{reason}. The {failure.kind} {resource_id} was recorded as failed."
    return problem_response(
        request.scope,
        status_of(failure.error),
        detail,
        **{f"{failure.kind}_id": resource_id, failure.kind: failure.resource},
    )
