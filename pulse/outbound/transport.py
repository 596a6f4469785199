"""An httpx transport that sends only to vetted addresses, resolved once per request.

The host is resolved through the ``Resolver``, every address is checked, and the
request goes to the vetted IP itself: the URL's host is replaced by the address, the
``Host`` header keeps the name, and for https the ``sni_hostname`` extension makes
TLS present (and verify the certificate against) the name. The inner transport never
resolves the name again, so DNS cannot change between the check and the connection.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from pulse.config import Settings
from pulse.domain.errors import InvalidValueError
from pulse.outbound.addresses import IPAddress
from pulse.outbound.guard import default_port, parse_url, resolve_target
from pulse.outbound.resolver import Resolver, SystemResolver


class ForbiddenDestinationError(httpx.TransportError):
    """The request's destination is refused by the SSRF guard; nothing was sent.

    A ``TransportError``, so a sender that counts transport errors as failed attempts
    records it as one; ``reason`` says why, for the delivery log.
    """

    def __init__(self, reason: str, request: httpx.Request | None = None) -> None:
        super().__init__(reason, request=request)
        self.reason = reason


def _default_inner() -> httpx.AsyncBaseTransport:
    return httpx.AsyncHTTPTransport(retries=0)


class GuardedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        settings: Settings,
        resolver: Resolver | None = None,
        inner_transport_factory: Callable[[], httpx.AsyncBaseTransport] = _default_inner,
    ) -> None:
        self._settings = settings
        self._resolver: Resolver = resolver or SystemResolver()
        self._factory = inner_transport_factory
        self._plain = inner_transport_factory()
        # One pool per https host: pools are keyed by the address dialed, so a shared one
        # could reuse a connection whose certificate was checked for *another* name on
        # the same IP. (Idle connections expire, so a pool per host costs little.)
        self._tls: dict[str, httpx.AsyncBaseTransport] = {}

    def _inner_for(self, url: httpx.URL) -> httpx.AsyncBaseTransport:
        if url.scheme != "https":
            return self._plain
        key = url.host.lower()
        if key not in self._tls:
            self._tls[key] = self._factory()
        return self._tls[key]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        try:
            parse_url(str(url), self._settings)
            target = await resolve_target(
                url.host, url.port or default_port(url.scheme), self._settings, self._resolver
            )
        except InvalidValueError as refusal:
            raise ForbiddenDestinationError(str(refusal), request=request) from None
        inner = self._inner_for(url)
        last_error: httpx.TransportError | None = None
        for address in target.addresses:
            try:
                return await inner.handle_async_request(_pinned(request, address))
            except httpx.ConnectError as error:
                last_error = error  # Try the next vetted address, as a browser would.
        assert last_error is not None  # resolve_target never returns no address.
        raise last_error

    async def aclose(self) -> None:
        closed: set[int] = set()
        for inner in (self._plain, *self._tls.values()):
            if id(inner) not in closed:  # A test factory may hand out one instance.
                closed.add(id(inner))
                await inner.aclose()


def _pinned(request: httpx.Request, address: IPAddress) -> httpx.Request:
    """The same request, addressed to ``address`` but naming the original host."""
    extensions = dict(request.extensions)
    if request.url.scheme == "https":
        extensions["sni_hostname"] = request.url.host
    headers = request.headers.copy()
    if "host" not in headers:
        headers["Host"] = request.url.netloc.decode("ascii")
    return httpx.Request(
        request.method,
        request.url.copy_with(host=str(address)),
        headers=headers,
        stream=request.stream,
        extensions=extensions,
    )
