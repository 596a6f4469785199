"""Liveness and readiness endpoints for orchestrators and load balancers."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pulse.api.dependencies import ClientsDep, SettingsDep
from pulse.api.openapi import problem_responses
from pulse.api.problems import NOT_READY_TYPE, problem_response
from pulse.api.readiness import check_dependencies
from pulse.api.schemas import HealthResponse, NotReadyProblem, ReadyResponse

router = APIRouter(tags=["operations"])


@router.get(
    "/health",
    response_model=HealthResponse,
    summary="Liveness: the process is running",
    description="Always 200 while the process serves HTTP; touches no dependency.",
)
async def health() -> HealthResponse:
    return HealthResponse()


@router.get(
    "/ready",
    response_model=ReadyResponse,
    summary="Readiness: MongoDB, Redis and LiveKit all answer",
    description=(
        "Pings every dependency concurrently, each within the readiness timeout. "
        "503 names the services that are down and carries every check's result."
    ),
    responses=problem_responses((HTTPStatus.SERVICE_UNAVAILABLE, NotReadyProblem)),
)
async def ready(
    request: Request, clients: ClientsDep, settings: SettingsDep
) -> ReadyResponse | Response:
    checks = await check_dependencies(clients, settings)
    down = [name for name, result in checks if result.status == "down"]
    if not down:
        return ReadyResponse(checks=checks)
    return problem_response(
        request.scope,
        HTTPStatus.SERVICE_UNAVAILABLE,
        f"Not ready: {_enumerate(down)} {'is' if len(down) == 1 else 'are'} down.",
        type_=NOT_READY_TYPE,
        checks=checks.model_dump(),
    )


def _enumerate(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
