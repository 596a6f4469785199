"""LiveKit's answers as Pulse errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from livekit.api.twirp_client import TwirpError

from pulse.domain.errors import InvalidValueError
from pulse.services.errors import ConflictError, NotFoundError, ServiceError


class MediaUnavailableError(ServiceError):
    """LiveKit (or a worker it needs, such as egress) cannot serve the request now."""


class MediaRefusedError(ServiceError):
    """LiveKit refused the request for a reason Pulse has no better name for."""


_UNAVAILABLE_CODES = frozenset({"unavailable", "deadline_exceeded", "resource_exhausted"})


@contextmanager
def livekit_errors(what: str) -> Iterator[None]:
    """Translate the LiveKit client's exceptions raised inside the block."""
    try:
        yield
    except TwirpError as error:
        code = str(error.code)
        if code in _UNAVAILABLE_CODES or error.status in (502, 503, 504):
            raise MediaUnavailableError(
                f"LiveKit cannot {what} right now: {error.message}"
            ) from error
        if code == "not_found":
            raise NotFoundError(what) from error
        if code == "already_exists":
            raise ConflictError(f"LiveKit refused to {what}: {error.message}") from error
        if code in ("invalid_argument", "malformed", "out_of_range"):
            raise InvalidValueError(f"LiveKit refused to {what}: {error.message}") from error
        raise MediaRefusedError(f"LiveKit refused to {what}: {error.message}") from error
    except (aiohttp.ClientError, TimeoutError) as error:
        raise MediaUnavailableError(f"LiveKit cannot be reached to {what}") from error
