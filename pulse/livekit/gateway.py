"""One LiveKit API client per region, opened on first use and closed with the process."""

from __future__ import annotations

from livekit.api import LiveKitAPI

from pulse.config import Settings
from pulse.livekit.regions import Region, regions_of
from pulse.services.errors import NotFoundError


class LiveKitGateway:
    def __init__(self, settings: Settings) -> None:
        self.regions = regions_of(settings)
        self._clients: dict[str, LiveKitAPI] = {}

    def region(self, code: str) -> Region:
        try:
            return self.regions[code]
        except KeyError:
            raise NotFoundError(f"Region {code}") from None

    def api(self, code: str) -> LiveKitAPI:
        """The client for a region's LiveKit (needs a running event loop)."""
        client = self._clients.get(code)
        if client is None:
            endpoint = self.region(code).endpoint
            client = LiveKitAPI(
                endpoint.url, endpoint.api_key, endpoint.api_secret.get_secret_value()
            )
            self._clients[code] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
