"""The SSRF guard: whether a webhook URL, and each address it resolves to, may be used.

Checked twice: when an endpoint is created or changed (a clear 422 for the customer),
and again on every delivery (``transport.GuardedTransport``), because what a name
resolves to can change after the check (DNS rebinding).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from pulse.config import Settings
from pulse.domain.errors import InvalidValueError
from pulse.outbound.addresses import IPAddress, forbidden_reason, legacy_ipv4, parse_address
from pulse.outbound.resolver import ResolutionError, Resolver

MAX_URL_LENGTH = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ForbiddenUrlError(InvalidValueError):
    """The URL may not receive webhooks (scheme, credentials, or where it leads)."""


@dataclass(frozen=True)
class Target:
    """A URL's host and port, and the addresses it resolved to (all of them allowed)."""

    host: str
    port: int
    addresses: list[IPAddress]


def allows_loopback(settings: Settings) -> bool:
    # Never in production, even if the setting were forced past its validator.
    return settings.webhook_allow_loopback and settings.environment != "production"


def parse_url(url: str, settings: Settings) -> httpx.URL:
    """The URL if its form is acceptable: http(s), no credentials, a host."""
    if len(url) > MAX_URL_LENGTH:
        raise ForbiddenUrlError(f"The URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ForbiddenUrlError("The URL is not a valid URL") from None
    if parsed.scheme not in _DEFAULT_PORTS:
        raise ForbiddenUrlError("The URL must use http or https")
    if settings.environment == "production" and parsed.scheme != "https":
        raise ForbiddenUrlError("The URL must use https")
    if parsed.userinfo:
        raise ForbiddenUrlError("The URL must not contain a user name or password")
    if not parsed.host:
        raise ForbiddenUrlError("The URL has no host")
    return parsed


async def resolve_target(host: str, port: int, settings: Settings, resolver: Resolver) -> Target:
    """Every address ``host`` reaches, refusing the lot if any one is forbidden.

    All must pass, not just one: a client may connect to any of them, and a name
    with one public and one private address is the classic rebinding trick.
    """
    literal = parse_address(host)
    if literal is None:
        legacy = legacy_ipv4(host)
        if legacy is not None:
            # e.g. http://2130706433/ — a name to URL parsers, 127.0.0.1 to the resolver.
            reason = forbidden_reason(legacy, allow_loopback=allows_loopback(settings))
            raise ForbiddenUrlError(reason or f"Write the address {legacy} in dotted-decimal form")
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = await resolver.resolve(host, port)
        except ResolutionError:
            raise ForbiddenUrlError(f"The host {host} does not resolve") from None
        if not addresses:
            raise ForbiddenUrlError(f"The host {host} does not resolve")
    for address in addresses:
        reason = forbidden_reason(address, allow_loopback=allows_loopback(settings))
        if reason is not None:
            where = "" if literal is not None else f"{host} resolves to an address that "
            raise ForbiddenUrlError(f"The URL is not allowed: {where}{reason}")
    return Target(host, port, addresses)


async def check_url(url: str, settings: Settings, resolver: Resolver) -> None:
    """Refuse (``InvalidValueError``, hence 422) a URL Pulse must not send webhooks to."""
    parsed = parse_url(url, settings)
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    await resolve_target(parsed.host, port, settings, resolver)


def default_port(scheme: str) -> int:
    return _DEFAULT_PORTS.get(scheme, 443)
