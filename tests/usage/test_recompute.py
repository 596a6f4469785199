"""``pulse billing recompute``: a period rebuilt from the event store alone, compared."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4, uuid5

import pytest
import typer
from pymongo.database import Database
from typer.testing import CliRunner

from pulse.billing_cli import billing_app
from pulse.config import Settings
from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.metering import Meter
from pulse.domain.organization import Organization
from pulse.domain.plans import terms_of
from pulse.domain.pricing import price_usage, total_of
from pulse.domain.project import Project
from pulse.projections.collections import INVOICES, USAGE_BUCKETS
from pulse.projections.model import Document
from pulse.projections.options import ProjectionSettings
from pulse.projections.runner import catch_up, rebuild
from pulse.projections.usage import PROJECTION
from pulse.queries.usage import period_usage
from pulse.services.application import PulseApplication
from pulse.services.billing_recompute import recompute
from tests.usage.generate import Generated, generate

PERIOD = "2026-10"
SESSIONS = 2_000
# Few large pages: FerretDB scans the collection for each changed bucket of a flush.
BIG_PAGES = ProjectionSettings(_env_file=None, page_size=10_000)
OWNER = CommandContext(ActorKind.USER, "owner-1")

cli = typer.Typer()
cli.add_typer(billing_app)
runner = CliRunner()


@dataclass
class Store:
    project: UUID
    other: UUID
    generated: Generated


def invoke(project: UUID | str, period: str = PERIOD) -> tuple[int, str]:
    result = runner.invoke(
        cli, ["billing", "recompute", "--project", str(project), "--period", period]
    )
    return result.exit_code, result.output


@pytest.fixture
def store(
    pulse_env: dict[str, str],
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
) -> Store:
    """A Pro project (and another project) with thousands of usage events in PERIOD,
    caught up in the read model, and the invoice priced from usage computed apart."""
    organization = Organization("Acme", "billing@acme.test", "pro", uuid4(), OWNER)
    project = Project(organization.id, "Live", "eu-west", None, None, OWNER)
    other = Project(organization.id, "Other", "eu-west", None, None, OWNER)
    pulse_app.save(organization, project, other)
    generated = generate(pulse_app, [project.id, other.id], PERIOD, SESSIONS, days=3)
    catch_up(PROJECTION, pulse_app, database, settings, BIG_PAGES)
    lines = price_usage(terms_of("pro"), generated.usage[project.id])
    database[INVOICES].insert_one(
        {
            "_id": str(uuid5(project.id, PERIOD)),
            "project_id": str(project.id),
            "organization_id": str(organization.id),
            "period": PERIOD,
            "plan": "pro",
            "status": "draft",
            "currency": "USD",
            "lines": [line.as_dict() for line in lines],
            "total": str(total_of(lines)),
        }
    )
    return Store(project.id, other.id, generated)


def test_a_period_of_thousands_of_events_recomputes_with_no_difference(
    store: Store,
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
) -> None:
    report = recompute(pulse_app, database, settings, store.project, PERIOD)

    assert report.events_read > SESSIONS
    assert report.usage == dict(store.generated.usage[store.project])
    assert report.usage == period_usage(database, store.project, PERIOD)
    assert all(report.usage[meter] > 0 for meter in Meter)
    assert not report.bucket_differences
    assert [invoice.differences for invoice in report.invoices] == [[]]
    assert report.lag == 0

    code, output = invoke(store.project)
    assert code == 0, output
    assert "Buckets: no difference." in output
    assert "no difference." in output.splitlines()[-2]
    assert output.splitlines()[-1] == "No difference."


def test_a_corrupted_read_model_is_detected_then_repaired_by_a_rebuild(
    store: Store,
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
) -> None:
    buckets = database[USAGE_BUCKETS]
    hour = buckets.find_one({"project_id": str(store.project), "granularity": "hour"})
    assert hour is not None
    buckets.update_one({"_id": hour["_id"]}, {"$inc": {"participant_ms": 1_000}})
    day = buckets.find_one({"project_id": str(store.project), "granularity": "day"})
    assert day is not None
    buckets.delete_one({"_id": day["_id"]})

    code, output = invoke(store.project)
    assert code == 1, output
    assert (
        f"{hour['_id']} participant_ms: stored {hour['participant_ms'] + 1_000}, "
        f"recomputed {hour['participant_ms']}"
    ) in output
    assert (
        f"{day['_id']} participant_ms: stored (none), recomputed {day['participant_ms']}" in output
    )
    assert output.splitlines()[-1] == "DIFFERENCES FOUND"
    # The other project's buckets are not this project's business.
    assert invoke(store.other)[0] == 0

    rebuild(PROJECTION, pulse_app, database, settings, BIG_PAGES)
    code, output = invoke(store.project)
    assert code == 0, output


def test_an_invoice_that_does_not_match_the_events_is_reported_to_the_cent(
    store: Store, database: Database[Document]
) -> None:
    invoice = database[INVOICES].find_one({"project_id": str(store.project)})
    assert invoice is not None
    lines = invoice["lines"]
    line = next(line for line in lines if line["item"] == "participant_minutes")
    right = line["amount"]
    line["amount"] = str(round(float(right) + 0.01, 2))
    database[INVOICES].update_one({"_id": invoice["_id"]}, {"$set": {"lines": lines}})

    code, output = invoke(store.project)
    assert code == 1, output
    assert f"participant_minutes amount: stored {line['amount']}, recomputed {right}" in output
    assert "Buckets: no difference." in output


def test_an_unknown_project_or_a_malformed_period_cannot_be_recomputed(store: Store) -> None:
    code, output = invoke(uuid4())
    assert code == 2
    assert "Cannot recompute" in output
    code, output = invoke(store.project, "2026-13")
    assert code == 2
    assert "YYYY-MM" in output
