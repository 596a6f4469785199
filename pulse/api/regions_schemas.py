"""Bodies of the region and status routes (``/v1/regions``, ``/v1/status``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from pulse.api.schemas import Checks
from pulse.livekit.availability import HealthStatus


class Location(BaseModel):
    latitude: float = Field(description="Degrees north.")
    longitude: float = Field(description="Degrees east.")


class HealthOut(BaseModel):
    """A region's current health, from the worker's latest check."""

    status: HealthStatus = Field(
        description="`unknown`: no check within the last few intervals (no worker checking)."
    )
    latency_ms: float | None = Field(description="Round trip of LiveKit's `GET /`.")
    checked_at: datetime | None
    error: str | None = Field(description="Why the latest check failed, if it did.")
    serving: str = Field(description="The region serving this region's projects now.")
    failed_over: bool = Field(description="Whether the backup serves instead of the region.")


class RegionOut(BaseModel):
    code: str
    name: str
    location: Location
    backup: str = Field(description="The region that takes over while this one is down.")
    websocket_url: str = Field(description="What LiveKit clients connect to in this region.")
    health: HealthOut


class RegionHealthOut(HealthOut):
    code: str


class CheckOut(BaseModel):
    """One kept check of a region."""

    healthy: bool
    latency_ms: float
    checked_at: datetime
    error: str | None
    failed_over: bool


class RegionHealthDetailOut(RegionHealthOut):
    history: list[CheckOut] = Field(description="Kept checks, newest first.")


class RegionStatsOut(BaseModel):
    code: str
    checks: int = Field(description="Checks kept (about the last 24 hours).")
    since: datetime | None = Field(description="When the oldest kept check ran.")
    uptime_percent: float | None = Field(description="Share of kept checks that were healthy.")
    p50_latency_ms: float | None = Field(description="Median latency of the healthy checks.")
    failovers: int = Field(description="Times the region failed over to its backup.")
    projects: int = Field(description="Projects placed in the region (not deleted).")


class NearestRequest(BaseModel):
    """Where the client is. Pulse has no GeoIP database, so coordinates are required."""

    model_config = ConfigDict(extra="forbid")

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class NearestOut(BaseModel):
    region: RegionOut = Field(description="The nearest region that is not known to be down.")
    distance_km: float = Field(description="Great-circle distance to `region`.")
    backup: RegionOut = Field(description="`region`'s backup.")
    nearest_overall: str = Field(description="The nearest region, whatever its health.")


class StatusOut(BaseModel):
    status: Literal["ok", "degraded"] = Field(description="`degraded`: a dependency is down.")
    started_at: datetime = Field(description="When this API process started.")
    uptime_seconds: float
    checks: Checks
    active_projects: int | None = Field(
        description="Projects not deleted; null when the database cannot say."
    )


class RegionAvailabilityOut(BaseModel):
    code: str
    name: str
    status: HealthStatus
    serving: str
    failed_over: bool
    uptime_percent: float | None


class RegionsSummaryOut(BaseModel):
    status: Literal["operational", "degraded", "partial_outage", "unknown"] = Field(
        description=(
            "`degraded`: a region is down and its backup serves it; `partial_outage`: "
            "a region and its backup are both down; `unknown`: no current checks."
        )
    )
    healthy: int
    unhealthy: int
    unknown: int
    regions: list[RegionAvailabilityOut]


class ProjectStatusOut(BaseModel):
    project_id: UUID
    region: str
    serving_region: str = Field(description="Where the project's rooms are served now.")
    failed_over: bool
    region_health: HealthOut
    keys: int = Field(description="API keys that work now (active or in a rotation's grace).")
    open_rooms: int = Field(
        description="Room instances started and not ended, as LiveKit's webhooks and "
        "reconciliation tell (eventually consistent)."
    )
