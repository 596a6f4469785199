"""How host names become addresses: the system resolver, or one a test supplies.

Every check of a name goes through a ``Resolver`` so tests can make a public-looking
name resolve to a private address without any DNS traffic.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Protocol

from pulse.outbound.addresses import IPAddress, parse_address


class ResolutionError(OSError):
    """The name does not resolve (or resolves to nothing usable)."""


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address ``host`` resolves to (raises ``ResolutionError`` if none)."""
        ...


class SystemResolver:
    """The operating system's resolver (``getaddrinfo``), off the event loop."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            raise ResolutionError(f"{host} does not resolve: {error}") from None
        found: list[IPAddress] = []
        for _family, _type, _proto, _canon, sockaddr in infos:
            address = parse_address(str(sockaddr[0]))
            if address is not None and address not in found:
                found.append(address)
        if not found:
            raise ResolutionError(f"{host} resolves to no address")
        return found


class StaticResolver:
    """Names from a table (tests, and pinning in development); literals as themselves."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self._table = {name.lower(): list(values) for name, values in (table or {}).items()}
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        literal = parse_address(host)
        if literal is not None:
            return [literal]
        values = self._table.get(host.lower().rstrip("."))
        if not values:
            raise ResolutionError(f"{host} does not resolve")
        return [address for value in values if (address := parse_address(value)) is not None]
