"""Response bodies of the operational endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from pulse.api.problems import NOT_READY_TYPE, Problem


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class CheckResult(BaseModel):
    status: Literal["up", "down"]
    latency_ms: float = Field(description="Time the check took, in milliseconds.")
    error: str | None = Field(default=None, description="Why the check failed, if it did.")


class Checks(BaseModel):
    mongodb: CheckResult
    redis: CheckResult
    livekit: CheckResult


class ReadyResponse(BaseModel):
    status: Literal["ready"] = "ready"
    checks: Checks


class NotReadyProblem(Problem):
    """A dependency is down; ``checks`` has the result of every readiness check."""

    type: str = Field(default=NOT_READY_TYPE, description="URI reference naming the problem type.")
    checks: Checks
