"""Calls to LiveKit's egress and ingress services, and what their refusals mean.

``livekit_errors`` translates LiveKit's answers for every LiveKit call; media calls
refine two of them:

- a missing room (``not_found`` on a start) is not "no such resource" for the
  caller, whose egress request exists: it is a conflict with the room's state (409);
- ``internal`` with "... not connected" is LiveKit saying that it has no egress or
  ingress service to hand the request to, which is an outage (503), like the
  ``unavailable`` it answers when no egress worker responds;
- ``failed_precondition`` (e.g. stopping an egress that already ended) is a
  conflict with the resource's state (409), not a bad gateway.

``livekit_code`` tells which of LiveKit's codes a refusal carried, for the record.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from livekit.api.twirp_client import TwirpError

from pulse.domain.errors import DomainError
from pulse.livekit.errors import MediaRefusedError, MediaUnavailableError, livekit_errors
from pulse.services.errors import ConflictError, NotFoundError, ServiceError

UNREACHABLE = "unreachable"
"""The code recorded when LiveKit could not be reached at all."""


def _twirp_cause(error: BaseException) -> TwirpError | None:
    cause = error.__cause__
    return cause if isinstance(cause, TwirpError) else None


def refined(what: str, error: ServiceError | DomainError) -> ServiceError | DomainError:
    cause = _twirp_cause(error)
    if cause is None:
        return error
    if isinstance(error, NotFoundError) or cause.code == "failed_precondition":
        return ConflictError(f"LiveKit refused to {what}: {cause.message}")
    if isinstance(error, MediaRefusedError) and "not connected" in cause.message:
        return MediaUnavailableError(f"LiveKit cannot {what} right now: {cause.message}")
    return error


@asynccontextmanager
async def media_call(what: str) -> AsyncIterator[None]:
    """Translate LiveKit's exceptions raised inside the block into Pulse errors."""
    try:
        with livekit_errors(what):
            yield
    except (ServiceError, DomainError) as error:
        translated = refined(what, error)
        if translated is error:
            raise
        raise translated from error.__cause__


def livekit_code(error: BaseException) -> str:
    """LiveKit's Twirp code behind a translated error ("unavailable", "not_found", ...)."""
    cause = error if isinstance(error, TwirpError) else _twirp_cause(error)
    if cause is not None:
        return str(cause.code)
    if isinstance(error, MediaUnavailableError):
        return UNREACHABLE
    return "internal"


def recorded_reason(error: Exception) -> str:
    """What to record (and tell the caller) about a failed call to LiveKit."""
    if isinstance(error, ServiceError | DomainError) and str(error):
        return str(error)
    # Anything else is Pulse's own fault; its text may hold internals.
    return f"Pulse could not complete the call to LiveKit ({type(error).__name__})"


class MediaRequestFailedError(Exception):
    """LiveKit refused (or could not be asked to serve) a request Pulse had recorded.

    The egress or ingress is recorded as failed with the reason; ``resource`` is its
    view, for the answer, and ``error`` the translated refusal that sets its status.
    """

    def __init__(self, kind: str, resource: dict[str, Any], error: Exception) -> None:
        super().__init__(recorded_reason(error))
        self.kind = kind
        self.resource = resource
        self.error = error
