"""Status: the service's dependencies, region availability, and one project's health.

``/v1/status`` and ``/v1/status/regions`` are public status-page data: they name
services and regions, never hosts, addresses or credentials, and always answer 200
(the body says what is down; ``/ready`` is the probe that fails). A project's status
is for the members of its organization and for the project's own keys only.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter
from pymongo.errors import PyMongoError

from pulse.api.auth import CurrentPrincipal, UserPrincipal, auth_responses
from pulse.api.commands import run_query
from pulse.api.dependencies import ClientsDep, PulseDep, SettingsDep
from pulse.api.openapi import problem_responses
from pulse.api.problems import Problem
from pulse.api.readiness import check_dependencies, within
from pulse.api.region_views import health_out
from pulse.api.regions_schemas import (
    ProjectStatusOut,
    RegionAvailabilityOut,
    RegionsSummaryOut,
    StatusOut,
)
from pulse.api.routes.regions import latest_checks
from pulse.clients import Clients
from pulse.config import Settings
from pulse.livekit import health_records
from pulse.livekit.availability import Availability, availability_of
from pulse.livekit.health_stats import NO_CHECKS
from pulse.livekit.regions import CATALOG
from pulse.livekit.selection import serving_region
from pulse.logging import get_logger
from pulse.queries.placement import active_projects, open_rooms
from pulse.services.clock import utc_now
from pulse.services.project_status import project_for_key, project_for_member

log = get_logger(__name__)

router = APIRouter(prefix="/v1/status", tags=["status"])

# Imported once, when the application is built: the process's start, near enough.
STARTED_AT = datetime.now(UTC)
_STARTED = time.monotonic()


async def _count_active_projects(clients: Clients, settings: Settings) -> int | None:
    try:
        async with asyncio.timeout(settings.readiness_timeout_seconds):
            return await active_projects(clients.database)
    except (TimeoutError, PyMongoError, OSError) as error:
        log.warning("status_project_count_unavailable", error=type(error).__name__)
        return None


async def _active_projects(clients: Clients, settings: Settings) -> int | None:
    """The count, or None rather than an error: status must answer with MongoDB down."""
    _, count = await within(
        _count_active_projects(clients, settings),
        settings.readiness_timeout_seconds + 0.25,  # Its own timeout reports first.
    )
    return count


@router.get(
    "",
    response_model=StatusOut,
    summary="MongoDB, Redis and LiveKit status, process uptime, active projects (public)",
    description="Always 200 while the process serves HTTP; `status` says whether all is up.",
)
async def status(clients: ClientsDep, settings: SettingsDep) -> StatusOut:
    checks, projects = await asyncio.gather(
        check_dependencies(clients, settings), _active_projects(clients, settings)
    )
    down = any(result.status == "down" for _, result in checks)
    return StatusOut(
        status="degraded" if down else "ok",
        started_at=STARTED_AT,
        uptime_seconds=round(time.monotonic() - _STARTED, 3),
        checks=checks,
        active_projects=projects,
    )


def _overall(states: list[Availability]) -> str:
    if all(state.status == "unknown" for state in states):
        return "unknown"
    if all(state.status != "unhealthy" for state in states):
        return "operational"
    by_code = {state.code: state for state in states}
    if any(by_code[state.serving].status == "unhealthy" for state in states):
        return "partial_outage"
    return "degraded"


@router.get(
    "/regions",
    response_model=RegionsSummaryOut,
    summary="Region availability: which regions are up, failed over or down (public)",
)
async def regions(clients: ClientsDep, settings: SettingsDep) -> RegionsSummaryOut:
    latest = await latest_checks(clients, settings)
    figures = await health_records.read_stats(clients.redis, settings.redis_key_prefix, CATALOG)
    states = [availability_of(code, latest) for code in CATALOG]
    return RegionsSummaryOut.model_validate(
        {
            "status": _overall(states),
            "healthy": sum(state.status == "healthy" for state in states),
            "unhealthy": sum(state.status == "unhealthy" for state in states),
            "unknown": sum(state.status == "unknown" for state in states),
            "regions": [
                RegionAvailabilityOut(
                    code=state.code,
                    name=CATALOG[state.code].name,
                    status=state.status,
                    serving=state.serving,
                    failed_over=state.failed_over,
                    uptime_percent=(figures[state.code] or NO_CHECKS).uptime_percent,
                )
                for state in states
            ],
        }
    )


@router.get(
    "/projects/{project_id}",
    response_model=ProjectStatusOut,
    summary="A project's health: its region, failover, keys and open rooms",
    description=(
        "For members of the project's organization (any role) and the project's own "
        "keys; anyone else gets 404, as for a project that does not exist."
    ),
    responses={**auth_responses(include_key=True), **problem_responses((404, Problem))},
)
async def project_status(
    project_id: UUID,
    principal: CurrentPrincipal,
    app: PulseDep,
    clients: ClientsDep,
    settings: SettingsDep,
) -> ProjectStatusOut:
    if isinstance(principal, UserPrincipal):
        project = await run_query(project_for_member, app, project_id, principal.user_id)
    else:
        project = await run_query(project_for_key, app, project_id, principal.project_id)
    # The rule the media plane routes by, so this answer is where rooms really go.
    serving = await serving_region(
        clients.livekit, clients.redis, settings.redis_key_prefix, project.region
    )
    latest = await latest_checks(clients, settings)
    return ProjectStatusOut(
        project_id=project_id,
        region=project.region,
        serving_region=serving.region.code,
        failed_over=serving.failed_over_from is not None,
        region_health=health_out(project.region, latest),
        keys=len(project.active_keys(utc_now())),
        open_rooms=await open_rooms(clients.database, project_id),
    )
