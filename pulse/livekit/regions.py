"""The six regions projects can live in, their LiveKit deployments and their backups."""

from __future__ import annotations

from dataclasses import dataclass

from pulse.config import RegionEndpoint, Settings
from pulse.domain.regions import REGIONS


@dataclass(frozen=True)
class RegionInfo:
    code: str
    name: str
    latitude: float
    longitude: float
    backup: str


# Where each region is (for "nearest") and which region takes over when it is down.
CATALOG: dict[str, RegionInfo] = {
    info.code: info
    for info in (
        RegionInfo("us-east", "US East (Virginia)", 38.9, -77.4, "us-west"),
        RegionInfo("us-west", "US West (Oregon)", 45.6, -121.2, "us-east"),
        RegionInfo("eu-west", "EU West (Ireland)", 53.3, -6.3, "eu-central"),
        RegionInfo("eu-central", "EU Central (Frankfurt)", 50.1, 8.7, "eu-west"),
        RegionInfo("asia-south", "Asia South (Mumbai)", 19.1, 72.9, "asia-southeast"),
        RegionInfo("asia-southeast", "Asia Southeast (Singapore)", 1.35, 103.8, "asia-south"),
    )
}
assert set(CATALOG) == set(REGIONS), "the catalog must cover exactly the domain's regions"


@dataclass(frozen=True)
class Region:
    """A region with its LiveKit deployment resolved from the settings."""

    info: RegionInfo
    endpoint: RegionEndpoint

    @property
    def code(self) -> str:
        return self.info.code

    @property
    def websocket_url(self) -> str:
        """What clients connect to: the LiveKit URL with a ws/wss scheme."""
        url = self.endpoint.url
        if url.startswith("https://"):
            return "wss://" + url.removeprefix("https://")
        if url.startswith("http://"):
            return "ws://" + url.removeprefix("http://")
        return url


def regions_of(settings: Settings) -> dict[str, Region]:
    """Every region, each with its own deployment or the default LiveKit."""
    default = RegionEndpoint(
        url=settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret,
    )
    return {
        code: Region(info, settings.livekit_regions.get(code, default))
        for code, info in CATALOG.items()
    }
