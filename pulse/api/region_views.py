"""Regions and their checks as the region and status routes answer them."""

from __future__ import annotations

from collections.abc import Mapping

from pulse.api.regions_schemas import CheckOut, HealthOut, Location, RegionHealthOut, RegionOut
from pulse.livekit.availability import availability_of
from pulse.livekit.health import RegionCheck
from pulse.livekit.regions import Region

Latest = Mapping[str, RegionCheck | None]


def health_out(code: str, latest: Latest) -> HealthOut:
    check = latest.get(code)
    available = availability_of(code, latest)
    return HealthOut(
        status=available.status,
        latency_ms=check.latency_ms if check else None,
        checked_at=check.checked_at if check else None,
        error=check.error if check else None,
        serving=available.serving,
        failed_over=available.failed_over,
    )


def region_health_out(code: str, latest: Latest) -> RegionHealthOut:
    return RegionHealthOut(code=code, **health_out(code, latest).model_dump())


def region_out(region: Region, latest: Latest) -> RegionOut:
    info = region.info
    return RegionOut(
        code=info.code,
        name=info.name,
        location=Location(latitude=info.latitude, longitude=info.longitude),
        backup=info.backup,
        websocket_url=region.websocket_url,
        health=health_out(info.code, latest),
    )


def check_out(check: RegionCheck) -> CheckOut:
    return CheckOut(
        healthy=check.healthy,
        latency_ms=check.latency_ms,
        checked_at=check.checked_at,
        error=check.error,
        failed_over=check.failed_over,
    )
