"""The minutely limit check as the worker runs it."""

from __future__ import annotations

import pytest

from pulse.config import Settings
from pulse.domain.metering import Meter, period_of
from pulse.domain.plans import Plan
from pulse.domain.usage_alert import UsageAlert, usage_alert_id
from pulse.projections.store import read_model_database
from pulse.services.application import PulseApplication
from pulse.services.clock import utc_now
from pulse.workers import usage_limit_jobs
from pulse.workers.context import SETTINGS_KEY, JobContext
from pulse.workers.lifecycle import shutdown, startup
from pulse.workers.usage_limit_jobs import check_usage_limits
from tests.projections.fixtures import migrated, pulse_app
from tests.usage_limits.usage_world import new_organization, new_project, put_month_usage

__all__ = ["migrated", "pulse_app"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def run_job(settings: Settings) -> int:
    ctx: JobContext = {SETTINGS_KEY: settings}
    await startup(ctx)
    try:
        return await check_usage_limits(ctx)
    finally:
        await shutdown(ctx)


@pytest.mark.anyio
async def test_the_job_raises_what_is_due_once(
    pulse_app: PulseApplication, migrated: Settings
) -> None:
    organization = new_organization(pulse_app, Plan.FREE)
    project = new_project(pulse_app, organization.id)
    now = utc_now()
    put_month_usage(read_model_database(pulse_app), project.id, now, {Meter.API_REQUESTS: 10_000})

    assert await run_job(migrated) == 2  # Threshold and limit.
    assert await run_job(migrated) == 0
    alert_id = usage_alert_id(project.id, period_of(now), "api_requests", "limit")
    assert pulse_app.load(alert_id, UsageAlert).percent == "100.00"


def test_the_job_is_wired_as_a_unique_minutely_cron(settings: Settings) -> None:
    (job,) = usage_limit_jobs.crons(settings)
    assert job.name == f"cron:{settings.worker_queue_name}:check_usage_limits"
    assert job.second == {30}
    assert job.unique
    assert [f.name for f in usage_limit_jobs.JOBS] == ["check_usage_limits"]  # type: ignore[union-attr]
