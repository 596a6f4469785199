"""The daily billing pass: draft last month's invoices, finalize drafts past their grace.

Every day (the cron in ``pulse.workers.billing_jobs``), for each project billed in
the previous period (active now, or deleted during or after it), the previous
period's invoice is generated or refreshed; then every draft whose period ended
more than ``billing_finalize_after_hours`` ago is refreshed one last time and
finalized. Late usage therefore lands on the draft during the grace period and
never changes a finalized invoice.

Everything is keyed by the invoice's derived id and each step records only what
changed, so running the pass twice (the job enqueued twice at a boundary, a retry
after a crash) leaves one invoice per project and period with the same lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from pulse.domain.context import CommandContext
from pulse.domain.invoice import Invoice, InvoiceStatus, invoice_id
from pulse.domain.metering import period_bounds, previous_period
from pulse.domain.project import Project
from pulse.logging import get_logger
from pulse.projections.collections import INVOICES, PROJECTS
from pulse.projections.store import read_model_database
from pulse.services.application import PulseApplication
from pulse.services.errors import NotFoundError
from pulse.services.invoices import generate_for
from pulse.services.retries import retry_on_conflict

CONTEXT = CommandContext.system("billing-cycle")

log = get_logger(__name__)


@dataclass
class CycleReport:
    period: str
    generated: int = 0
    """Invoices drafted or refreshed (recorded something)."""
    finalized: int = 0
    failed: list[str] = field(default_factory=list)
    """Projects or invoices that could not be processed (the next pass retries them)."""

    def as_dict(self) -> dict[str, int | str]:
        return {
            "period": self.period,
            "generated": self.generated,
            "finalized": self.finalized,
            "failed": len(self.failed),
        }


def billed_projects(app: PulseApplication, period: str) -> list[UUID]:
    """Projects that may have used something in ``period``: not deleted before it began."""
    start, _ = period_bounds(period)
    found = read_model_database(app)[PROJECTS].find(
        {"$or": [{"deleted": False}, {"deleted_at": {"$gte": start}}]}, {"_id": 1}
    )
    return sorted(UUID(str(document["_id"])) for document in found)


def open_drafts(app: PulseApplication) -> list[UUID]:
    found = read_model_database(app)[INVOICES].find(
        {"status": str(InvoiceStatus.DRAFT)}, {"_id": 1}
    )
    return sorted(UUID(str(document["_id"])) for document in found)


def run_cycle(app: PulseApplication, now: datetime, finalize_after_hours: int) -> CycleReport:
    period = previous_period(now)
    report = CycleReport(period)
    drafts = set(open_drafts(app))
    for project_id in billed_projects(app, period):
        try:
            project = app.load(project_id, Project)
            generated = generate_for(app, project, period, now, CONTEXT)
        except Exception:  # One project's failure must not stop the others.
            log.warning("billing_generate_failed", project_id=str(project_id), exc_info=True)
            report.failed.append(str(project_id))
            continue
        report.generated += int(generated.changed)
        if generated.invoice.status is InvoiceStatus.DRAFT:
            drafts.add(generated.invoice.id)
    grace = timedelta(hours=finalize_after_hours)
    for draft_id in sorted(drafts):
        try:
            report.finalized += int(_finalize_if_due(app, draft_id, now, grace))
        except Exception:  # As above.
            log.warning("billing_finalize_failed", invoice_id=str(draft_id), exc_info=True)
            report.failed.append(str(draft_id))
    return report


def _finalize_if_due(
    app: PulseApplication, draft_id: UUID, now: datetime, grace: timedelta
) -> bool:
    """Refresh the draft one last time and finalize it, once its grace has passed."""
    try:
        invoice = app.load(draft_id, Invoice)
    except NotFoundError:
        return False  # The read model named an invoice the store does not have.
    _, end = period_bounds(invoice.period)
    if invoice.status is not InvoiceStatus.DRAFT or now - end <= grace:
        return False
    project = app.load(invoice.project_id, Project)
    generate_for(app, project, invoice.period, now, CONTEXT)

    def command() -> bool:
        current = app.load(invoice_id(invoice.project_id, invoice.period), Invoice)
        if current.status is not InvoiceStatus.DRAFT:
            return False
        current.finalize(now, CONTEXT)
        app.save(current)
        return True

    return retry_on_conflict(command)
