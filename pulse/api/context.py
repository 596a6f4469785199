"""The request id: where it comes from and where it is kept for the request's life."""

from __future__ import annotations

import re
import uuid

from starlette.types import Scope

REQUEST_ID_HEADER = "X-Request-ID"

# Anything else (too long, spaces, quotes, control characters) could forge or break
# log lines, so it is replaced rather than echoed.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

_STATE_KEY = "request_id"


def choose_request_id(incoming: str | None) -> str:
    """Keep the caller's id if it is a sane token, so traces join up; else mint one."""
    if incoming is not None and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def remember_request_id(scope: Scope, request_id: str) -> None:
    # scope["state"] is what Request.state reads, so handlers see it as request.state.
    scope.setdefault("state", {})[_STATE_KEY] = request_id


def request_id_of(scope: Scope) -> str | None:
    value = scope.get("state", {}).get(_STATE_KEY)
    return value if isinstance(value, str) else None
