"""Regions: where projects can live, how healthy each is, and which is nearest.

Public (status-page data, no authentication): the list, health, one region, nearest.
``/v1/regions/stats`` needs a signed-in user or a project key: it counts the projects
of every tenant by region, which is business data rather than status.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pulse.api.auth import CurrentPrincipal, auth_responses
from pulse.api.dependencies import ClientsDep, SettingsDep
from pulse.api.openapi import problem_responses
from pulse.api.problems import Problem
from pulse.api.region_views import check_out, region_health_out, region_out
from pulse.api.regions_schemas import (
    NearestOut,
    NearestRequest,
    RegionHealthDetailOut,
    RegionHealthOut,
    RegionOut,
    RegionStatsOut,
)
from pulse.clients import Clients
from pulse.config import Settings
from pulse.livekit import health_records
from pulse.livekit.availability import status_of
from pulse.livekit.health import RegionCheck
from pulse.livekit.health_stats import NO_CHECKS
from pulse.livekit.nearest import nearest
from pulse.livekit.regions import CATALOG
from pulse.queries.placement import projects_per_region

router = APIRouter(prefix="/v1/regions", tags=["regions"])

_NOT_FOUND = problem_responses((404, Problem))
MAX_HISTORY_SHOWN = 1000


async def latest_checks(clients: Clients, settings: Settings) -> dict[str, RegionCheck | None]:
    return await health_records.latest(clients.redis, settings.redis_key_prefix, CATALOG)


@router.get(
    "",
    response_model=list[RegionOut],
    summary="Every region, its LiveKit URL and its current health (public)",
)
async def list_regions(clients: ClientsDep, settings: SettingsDep) -> list[RegionOut]:
    latest = await latest_checks(clients, settings)
    return [region_out(region, latest) for region in clients.livekit.regions.values()]


@router.get(
    "/health",
    response_model=list[RegionHealthOut],
    summary="Every region's latest health check (public)",
)
async def health(clients: ClientsDep, settings: SettingsDep) -> list[RegionHealthOut]:
    latest = await latest_checks(clients, settings)
    return [region_health_out(code, latest) for code in CATALOG]


@router.get(
    "/stats",
    response_model=list[RegionStatsOut],
    summary="Checks, uptime, median latency, failovers and projects per region",
    description=(
        "Over the kept checks (about the last 24 hours), as of the latest round. "
        "Any signed-in user or project key."
    ),
    responses=auth_responses(include_key=True),
)
async def stats(
    _principal: CurrentPrincipal, clients: ClientsDep, settings: SettingsDep
) -> list[RegionStatsOut]:
    kept = await health_records.read_stats(clients.redis, settings.redis_key_prefix, CATALOG)
    placed = await projects_per_region(clients.database)
    answer = []
    for code in CATALOG:
        figures = kept[code] or NO_CHECKS
        answer.append(
            RegionStatsOut(
                code=code,
                checks=figures.checks,
                since=figures.since,
                uptime_percent=figures.uptime_percent,
                p50_latency_ms=figures.p50_latency_ms,
                failovers=figures.failovers,
                projects=placed.get(code, 0),
            )
        )
    return answer


@router.post(
    "/nearest",
    response_model=NearestOut,
    summary="The nearest healthy region to a point, and its backup (public)",
    description=(
        "By great-circle distance from `latitude`/`longitude`, which are required: Pulse "
        "does not locate clients by address. A region known to be down is passed over; "
        "if every region is down, the nearest is answered anyway."
    ),
)
async def nearest_region(
    body: NearestRequest, clients: ClientsDep, settings: SettingsDep
) -> NearestOut:
    latest = await latest_checks(clients, settings)
    found = nearest(
        body.latitude, body.longitude, lambda code: status_of(latest.get(code)) != "unhealthy"
    )
    regions = clients.livekit.regions
    return NearestOut(
        region=region_out(regions[found.region.code], latest),
        distance_km=found.distance_km,
        backup=region_out(regions[found.region.backup], latest),
        nearest_overall=found.nearest_overall.code,
    )


@router.get(
    "/{code}",
    response_model=RegionOut,
    summary="One region (public)",
    responses=_NOT_FOUND,
)
async def get_region(code: str, clients: ClientsDep, settings: SettingsDep) -> RegionOut:
    region = clients.livekit.region(code)
    return region_out(region, await latest_checks(clients, settings))


@router.get(
    "/{code}/health",
    response_model=RegionHealthDetailOut,
    summary="One region's latest check and its recent checks (public)",
    responses=_NOT_FOUND,
)
async def get_region_health(
    code: str,
    clients: ClientsDep,
    settings: SettingsDep,
    limit: Annotated[
        int, Query(ge=1, le=MAX_HISTORY_SHOWN, description="Recent checks to include.")
    ] = 60,
) -> RegionHealthDetailOut:
    region = clients.livekit.region(code)
    latest = await latest_checks(clients, settings)
    kept = await health_records.histories(
        clients.redis, settings.redis_key_prefix, [region.code], limit=limit
    )
    return RegionHealthDetailOut(
        **region_health_out(region.code, latest).model_dump(),
        history=[check_out(check) for check in kept[region.code]],
    )
