"""URLs with their secrets taken out, for what Pulse records about media.

An RTMP destination carries its stream key in the URL (``rtmp://host/app/<key>``):
anyone holding it can broadcast on the customer's channel. Pulse passes the full URL
to LiveKit and records only the redacted form, so events, read models and answers
never hold a key. A pulled source URL (URL ingress) may carry credentials in its
user info or a signature in its query; those are dropped too.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"


def _netloc(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # An IPv6 literal.
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return parts.scheme, netloc, parts.path


def redact_stream_url(url: str) -> str:
    """``rtmp://host/app/<key>?x=y`` -> ``rtmp://host/app/***``: the last path segment,
    query, fragment and user info are where stream services put their keys."""
    scheme, netloc, path = _netloc(url)
    segments = path.split("/")
    for index in range(len(segments) - 1, -1, -1):
        if segments[index]:
            segments[index] = REDACTED
            break
    return urlunsplit((scheme, netloc, "/".join(segments), "", ""))


def redact_source_url(url: str) -> str:
    """The URL without user info, query and fragment (credentials, signatures)."""
    scheme, netloc, path = _netloc(url)
    return urlunsplit((scheme, netloc, path, "", ""))
