"""Which address a request comes from: the socket peer, or what trusted proxies say.

``X-Forwarded-For`` is a list any client can write, so it is believed only as far as
it was written by proxies we trust: read from the right (the hop nearest to us), the
first address that is not a trusted proxy is the client. A client that sends its own
header cannot move that point, because our proxy appends the address it saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.datastructures import Headers
from starlette.types import Scope

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

FORWARDED_FOR_HEADER = "X-Forwarded-For"
UNKNOWN_CLIENT = "unknown"

_STATE_KEY = "client_ip"


def parse_ip(text: str) -> IPAddress | None:
    """An address as proxies write it (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``), or None."""
    text = text.strip()
    if text.startswith("["):  # [v6]:port
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # v4:port; a bare v6 address has several colons
        text = text.partition(":")[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    # Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d; one client, one form.
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def resolve_client_ip(scope: Scope, trusted: Sequence[IPNetwork]) -> str:
    """The client's address as text: the peer's, or the nearest untrusted forwarded hop.

    A peer that is not an IP address (a Unix socket, a test client's name) is returned
    as it is, and never trusted.
    """
    client = scope.get("client")
    peer_text = str(client[0]) if client else ""
    peer = parse_ip(peer_text)
    if peer is None:
        return peer_text or UNKNOWN_CLIENT
    if not trusted or not is_trusted(peer, trusted):
        return str(peer)
    hops = [
        hop
        for header in Headers(scope=scope).getlist(FORWARDED_FOR_HEADER)
        for hop in header.split(",")
    ]
    client_address = peer
    for hop in reversed(hops):
        address = parse_ip(hop)
        if address is None:
            # Garbage where a proxy should have written an address: nothing to the left
            # of it can be believed, so the last proxy we trust stands for the client.
            break
        client_address = address
        if not is_trusted(address, trusted):
            break
    return str(client_address)


def remember_client_ip(scope: Scope, address: str) -> None:
    # scope["state"] is what Request.state reads, so handlers (audit fields) can use it.
    scope.setdefault("state", {})[_STATE_KEY] = address


def client_ip_of(scope: Scope) -> str | None:
    """The address the rate-limit middleware resolved for this request, if it ran."""
    value = scope.get("state", {}).get(_STATE_KEY)
    return value if isinstance(value, str) else None
