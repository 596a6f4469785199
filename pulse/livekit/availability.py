"""Each region's state for display: healthy, unhealthy or unknown, and who serves it.

Mirrors ``selection.serving_region`` on checks already read (one Redis round trip for
every region, rather than two per region): a region without a current check counts
as healthy for failover, since failing over needs evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pulse.livekit.health import RegionCheck
from pulse.livekit.regions import CATALOG

HealthStatus = Literal["healthy", "unhealthy", "unknown"]


def status_of(check: RegionCheck | None) -> HealthStatus:
    if check is None:
        return "unknown"
    return "healthy" if check.healthy else "unhealthy"


@dataclass(frozen=True)
class Availability:
    code: str
    status: HealthStatus
    serving: str
    """The region whose LiveKit serves this region's projects now: itself or its backup."""

    @property
    def failed_over(self) -> bool:
        return self.serving != self.code


def availability_of(code: str, latest: Mapping[str, RegionCheck | None]) -> Availability:
    status = status_of(latest.get(code))
    backup = CATALOG[code].backup
    backup_down = status_of(latest.get(backup)) == "unhealthy"
    serving = backup if status == "unhealthy" and not backup_down else code
    return Availability(code, status, serving)
