"""The daily billing job: last month drafted, drafts finalized after their grace,
idempotent however often it runs."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from arq.cron import CronJob

from pulse.domain.invoice import Invoice, InvoiceStatus, invoice_id
from pulse.domain.metering import Meter, period_bounds, previous_period
from pulse.domain.project import Project
from pulse.projections.options import ProjectionSettings
from pulse.services.billing_cycle import run_cycle
from pulse.services.invoices import generate_for
from pulse.workers import billing_jobs
from pulse.workers.context import SETTINGS_KEY
from pulse.workers.lifecycle import shutdown, startup
from pulse.workers.settings import FUNCTIONS, cron_jobs_for
from tests.billing.helpers import pro_team_project, record_usage, settle
from tests.management.world import SETUP, World

HOURS = 72
PERIOD = "2026-02"
RUN = datetime(2026, 3, 1, 0, 10, tzinfo=UTC)  # The cron's first run after February.


def events_of(world: World, aggregate_id: UUID) -> list[str]:
    return [
        type(world.app.mapper.to_domain_event(stored)).__name__
        for stored in world.app.recorder.select_events(aggregate_id)
    ]


def test_the_previous_period() -> None:
    assert previous_period(RUN) == "2026-02"
    assert previous_period(datetime(2026, 1, 1, tzinfo=UTC)) == "2025-12"
    assert previous_period(datetime(2026, 3, 31, 23, 59, tzinfo=UTC)) == "2026-02"


def test_the_cron_runs_daily_at_ten_past_midnight(world: World) -> None:
    crons = billing_jobs.crons(world.settings)
    assert len(crons) == 1
    job: CronJob = crons[0]
    assert (job.hour, job.minute, job.second) == ({0}, {10}, {0})
    assert job.name == f"cron:{world.settings.worker_queue_name}:run_billing_cycle"
    assert job.unique
    wired = cron_jobs_for(world.settings, ProjectionSettings())
    assert any(c.name == job.name for c in wired)
    assert any(getattr(f, "name", None) == "run_billing_cycle" for f in FUNCTIONS)


def test_running_twice_yields_one_invoice_with_the_same_lines(world: World) -> None:
    _, project_id = pro_team_project(world)
    record_usage(world, project_id, PERIOD, {Meter.PARTICIPANT_MINUTES: 6_000_000})
    settle(world)  # The job finds projects in rm_projects.
    the_id = invoice_id(project_id, PERIOD)

    first = run_cycle(world.app, RUN, HOURS)
    assert first.period == PERIOD
    assert first.generated >= 1
    assert first.failed == []
    invoice = world.app.load(the_id, Invoice)
    lines = invoice.line_dicts
    assert invoice.status is InvoiceStatus.DRAFT
    assert str(invoice.total) == "49.40"  # 100 minutes x 0.004 = 0.40

    second = run_cycle(world.app, RUN, HOURS)
    assert (second.generated, second.finalized, second.failed) == (0, 0, [])
    assert world.app.load(the_id, Invoice).line_dicts == lines
    assert events_of(world, the_id) == ["Drafted"]


def test_late_usage_lands_in_the_grace_period_then_the_invoice_is_frozen(world: World) -> None:
    _, project_id = pro_team_project(world)
    record_usage(world, project_id, PERIOD, {Meter.EGRESS_MINUTES: 600_000})  # 10 min: 0.12
    settle(world)
    the_id = invoice_id(project_id, PERIOD)
    run_cycle(world.app, RUN, HOURS)
    assert str(world.app.load(the_id, Invoice).total) == "49.12"

    # Two days later, late usage: refreshed, still a draft (72 h have not passed).
    record_usage(world, project_id, PERIOD, {Meter.EGRESS_MINUTES: 1_200_000})
    two_days = run_cycle(world.app, RUN + timedelta(days=2), HOURS)
    assert two_days.finalized == 0
    invoice = world.app.load(the_id, Invoice)
    assert (invoice.status, str(invoice.total)) == (InvoiceStatus.DRAFT, "49.24")

    # The day after the grace: refreshed with the last usage, then finalized.
    record_usage(world, project_id, PERIOD, {Meter.EGRESS_MINUTES: 1_800_000})
    due = RUN + timedelta(days=3)
    after = run_cycle(world.app, due, HOURS)
    assert after.finalized >= 1
    invoice = world.app.load(the_id, Invoice)
    assert (invoice.status, str(invoice.total)) == (InvoiceStatus.FINALIZED, "49.36")
    assert invoice.finalized_at == due

    # Usage arriving after that never changes the finalized invoice.
    record_usage(world, project_id, PERIOD, {Meter.EGRESS_MINUTES: 9_000_000})
    again = run_cycle(world.app, due + timedelta(days=1), HOURS)
    assert again.failed == []
    assert str(world.app.load(the_id, Invoice).total) == "49.36"
    assert events_of(world, the_id) == ["Drafted", "Refreshed", "Refreshed", "Finalized"]


def test_older_drafts_are_finalized_too(world: World) -> None:
    _, project_id = pro_team_project(world)
    older = "2026-01"
    record_usage(world, project_id, older, {Meter.API_REQUESTS: 1_000_000})  # 1.00
    response = world.client.post(
        f"/v1/billing/{project_id}/invoice", json={"period": older}, headers=world.headers("owner")
    )
    assert response.status_code == 200, response.text
    settle(world)  # The job finds open drafts in rm_invoices.
    run_cycle(world.app, RUN + timedelta(days=3), HOURS)
    invoice = world.app.load(invoice_id(project_id, older), Invoice)
    assert (invoice.status, str(invoice.total)) == (InvoiceStatus.FINALIZED, "50.00")


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")
async def test_the_job_run_twice_by_a_worker_changes_nothing_the_second_time(
    world: World, anyio_backend: str
) -> None:
    _, project_id = pro_team_project(world)
    period = previous_period(datetime.now(UTC))
    record_usage(world, project_id, period, {Meter.STORAGE_GB: 10_000_000_000})  # 10 GB: 1.00
    settle(world)
    ctx: dict[str, Any] = {SETTINGS_KEY: world.settings}
    await startup(ctx)
    try:
        first = await billing_jobs.run_billing_cycle(ctx)
        second = await billing_jobs.run_billing_cycle(ctx)
    finally:
        await shutdown(ctx)
    assert first["period"] == period
    assert int(first["generated"]) >= 1
    assert (second["generated"], second["finalized"], second["failed"]) == (0, 0, 0)
    the_id = invoice_id(project_id, period)
    invoice = world.app.load(the_id, Invoice)
    assert str(invoice.total) == "50.00"
    # Last month ended more than the grace ago unless today is within its first 72 h.
    grace_over = datetime.now(UTC) - period_bounds(period)[1] > timedelta(hours=HOURS)
    expected = ["Drafted", "Finalized"] if grace_over else ["Drafted"]
    assert events_of(world, the_id) == expected


def test_generations_at_once_make_one_invoice(world: World) -> None:
    _, project_id = pro_team_project(world)
    record_usage(world, project_id, PERIOD, {Meter.PARTICIPANT_MINUTES: 60_000_000})
    project = world.app.load(project_id, Project)
    start = threading.Barrier(6)

    def generate() -> str:
        start.wait()
        return str(generate_for(world.app, project, PERIOD, RUN, SETUP).invoice.total)

    with ThreadPoolExecutor(max_workers=6) as pool:
        totals = list(pool.map(lambda _: generate(), range(6)))
    assert totals == ["53.00"] * 6  # 1000 minutes x 0.004 = 4.00
    assert events_of(world, invoice_id(project_id, PERIOD)) == ["Drafted"]
