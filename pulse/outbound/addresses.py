"""Which IP addresses Pulse may send a customer's webhook to.

A customer chooses the URL, so without this check Pulse could be made to call its own
internal services or a cloud metadata endpoint (SSRF). Only globally routable unicast
addresses are allowed; loopback only when the development setting allows it. IPv6
forms that embed an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, NAT64) are
judged by the IPv4 address they reach.
"""

from __future__ import annotations

import ipaddress
import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address

# Refused whatever ``ipaddress`` thinks of them (its tables vary across Python versions).
_FORBIDDEN_V4 = tuple(
    IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
    )
)
_FORBIDDEN_V6 = tuple(
    IPv6Network(net)
    for net in (
        "::/128",
        "::1/128",
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (Teredo, benchmarking, ORCHID...)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
        "64:ff9b:1::/48",  # local-use NAT64
        "fc00::/7",  # unique local, includes AWS metadata fd00:ec2::254
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)
_LOOPBACK = (IPv4Network("127.0.0.0/8"), IPv6Network("::1/128"))
_SIX_TO_FOUR = IPv6Network("2002::/16")
_NAT64 = IPv6Network("64:ff9b::/96")
_V4_COMPATIBLE = IPv6Network("::/96")


def parse_address(text: str) -> IPAddress | None:
    """The address ``text`` spells (brackets and an IPv6 zone allowed), or None."""
    # A zone in a URL is percent-encoded (``fe80::1%25eth0``).
    candidate = text.strip().removeprefix("[").removesuffix("]").replace("%25", "%")
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.scope_id is not None:
        # A zone only makes sense for link-local addresses; judge the address itself.
        address = IPv6Address(candidate.split("%", 1)[0])
    return address


_LEGACY_PART = re.compile(r"^(0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)$", re.IGNORECASE)


def legacy_ipv4(text: str) -> IPv4Address | None:
    """The address an ``inet_aton``-style host means (``2130706433``, ``0x7f.1``, ``127.1``).

    URL parsers keep such hosts as names, but the system resolver turns them into
    addresses, so the guard must judge them as the address they reach.
    """
    parts = text.strip().rstrip(".").split(".")
    if not 1 <= len(parts) <= 4 or not all(_LEGACY_PART.match(part) for part in parts):
        return None
    numbers = [_legacy_number(part) for part in parts]
    *head, last = numbers
    if any(n > 0xFF for n in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = 0
    for n in head:
        value = value << 8 | n
    return IPv4Address(value << (8 * (4 - len(head))) | last)


def _legacy_number(part: str) -> int:
    if part.lower().startswith("0x"):
        return int(part[2:] or "0", 16)
    if part.startswith("0"):
        return int(part, 8)
    return int(part)


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address reaches through, if it embeds one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None or address in _SIX_TO_FOUR:
        return address.sixtofour
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _V4_COMPATIBLE and int(address) > 1:
        return IPv4Address(int(address) & 0xFFFFFFFF)  # deprecated ::a.b.c.d
    return None


def is_loopback(address: IPAddress) -> bool:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in net for net in _LOOPBACK if address.version == net.version)


def forbidden_reason(address: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why Pulse must not send to ``address`` (None: it may)."""
    if isinstance(address, IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            # Only an IPv4-mapped address is the local loopback; a 6to4 or NAT64 form of
            # 127.0.0.1 goes through a relay, so the development allowance never covers it.
            local = allow_loopback and address.ipv4_mapped is not None
            reason = forbidden_reason(inner, allow_loopback=local)
            return None if reason is None else f"{reason} (embedded in {address})"
    if is_loopback(address):
        return None if allow_loopback else f"{address} is a loopback address"
    if address.is_unspecified:
        return f"{address} is the unspecified address"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if address.is_link_local:
        return f"{address} is a link-local address (cloud metadata lives there)"
    nets = _FORBIDDEN_V4 if isinstance(address, IPv4Address) else _FORBIDDEN_V6
    if any(address in net for net in nets):
        return f"{address} is in a private, reserved or special-purpose range"
    if address.is_private or address.is_reserved or not address.is_global:
        return f"{address} is not a public address"
    return None
