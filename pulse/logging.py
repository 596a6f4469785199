"""Structured logging: one JSON object per line on stdout, for every logger.

structlog and the standard library share one handler, so uvicorn's, arq's and
PyMongo's records come out in the same format and carry the same context (such as
the request id bound by the API middleware).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from pulse.config import Settings

REDACTED = "[redacted]"

# Compared after lower-casing and mapping "-" to "_", so "X-Pulse-Key" matches too.
SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "x_pulse_key",
        "api_key",
        "api_secret",
        "livekit_api_secret",
        "password",
        "secret",
        "token",
        "access_token",
        "refresh_token",
        "mongo_uri",
        "redis_url",
    }
)

# Libraries that log every request at INFO, which would drown the access log.
_QUIET_LOGGERS = ("httpx", "httpcore", "httpx2", "httpcore2", "pymongo", "uvicorn.access")


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stdout`` is when a record is emitted.

    Test runners and typer's CliRunner swap ``sys.stdout`` for a while; a handler
    holding the stream it was built with would write into a closed buffer later.
    """

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def _redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _is_sensitive(key) else _redact(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact(item) for item in value]
    if isinstance(value, tuple):
        # Stays a tuple: %-formatting treats positional_args differently from a list.
        return tuple(_redact(item) for item in value)
    return value


def _is_sensitive(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in SENSITIVE_KEYS


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Mask values under sensitive keys, at any depth, before anything renders them."""
    redacted: EventDict = _redact(event_dict)
    return redacted


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]


def configure_logging(settings: Settings) -> None:
    """Route structlog and stdlib logging to stdout in the configured format.

    Safe to call more than once (the API factory and the CLI both do): it replaces
    the handler it installed before and leaves other handlers (pytest's) alone.
    """
    shared = _shared_processors()
    renderer: Processor
    if settings.log_format == "console":
        renderer = structlog.dev.ConsoleRenderer()
        final: list[Processor] = [renderer]
    else:
        renderer = structlog.processors.JSONRenderer()
        final = [structlog.processors.format_exc_info, renderer]

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a cached logger would keep the level and handler of the first
        # configuration, and the tests reconfigure per app.
        cache_logger_on_first_use=False,
    )

    handler = _StdoutHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
        )
    )
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, _StdoutHandler)]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
