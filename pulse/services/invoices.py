"""Invoice commands: generate (or refresh) a period's invoice, read it, change its status.

Authorization: any member of the project's organization may read (``VIEW_USAGE``);
generating and changing a status need ``MANAGE_BILLING`` (the Owner). Anyone else
learns nothing (404). The monthly job calls the same ``generate`` as the system.

An invoice is priced from the project's usage of the period (the ``usage``
projection's month bucket) under the plan the organization was on at the period's
end (for the running period: its plan now; ``plan_history``), so a plan change
during the month applies to the whole month, a late generation prices a past month
as it was, and ``pulse billing recompute`` agrees. A finalized invoice never
changes again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from pymongo.database import Database

from pulse.domain.context import CommandContext
from pulse.domain.errors import InvalidValueError
from pulse.domain.invoice import Invoice, InvoiceStatus, check_period, invoice_id
from pulse.domain.metering import period_bounds
from pulse.domain.plans import terms_of
from pulse.domain.pricing import price_usage
from pulse.domain.project import Project
from pulse.domain.roles import Permission
from pulse.projections.model import Document
from pulse.projections.store import read_model_database
from pulse.queries.usage import period_usage
from pulse.services.application import PulseApplication
from pulse.services.authorization import require, require_project
from pulse.services.errors import NotFoundError
from pulse.services.plan_history import plan_at
from pulse.services.retries import retry_on_conflict
from pulse.services.views import View, ms


@dataclass(frozen=True)
class Generated:
    invoice: Invoice
    changed: bool
    """Whether this call recorded anything (a new draft or a refresh)."""


def invoice_view(invoice: Invoice) -> View:
    """The invoice as the API shows it (the fields of ``rm_invoices``)."""
    return {
        "id": str(invoice.id),
        "project_id": str(invoice.project_id),
        "organization_id": str(invoice.organization_id),
        "period": invoice.period,
        "plan": str(invoice.plan),
        "status": str(invoice.status),
        "currency": invoice.currency,
        "lines": [dict(line) for line in invoice.line_dicts],
        "total": str(invoice.total),
        "created_at": ms(invoice.created_on),
        "finalized_at": ms(invoice.finalized_at),
        "paid_at": ms(invoice.paid_at),
        "voided_at": ms(invoice.voided_at),
    }


def check_billable(period: str, now: datetime) -> tuple[datetime, datetime]:
    """The period's bounds, if it has started (a future period has no usage to bill)."""
    start, end = period_bounds(check_period(period))
    if start > now:
        raise InvalidValueError(f"The period {period} has not started yet")
    return start, end


def generate_for(
    app: PulseApplication,
    project: Project,
    period: str,
    now: datetime,
    context: CommandContext,
    database: Database[Document] | None = None,
) -> Generated:
    """The project's invoice of ``period``: a new draft, a refreshed draft, or (once
    finalized, paid or void) the invoice unchanged. Safe to run twice, or at once."""
    _, end = check_billable(period, now)
    database = read_model_database(app) if database is None else database
    usage = period_usage(database, project.id, period)

    def command() -> Generated:
        plan = plan_at(app, project.organization_id, end)
        lines = price_usage(terms_of(plan), usage)
        try:
            invoice = app.load(invoice_id(project.id, period), Invoice)
        except NotFoundError:
            invoice = Invoice.draft(
                project.organization_id, project.id, period, plan, lines, context
            )
            # Two generations at once: one insert wins, the other retries and refreshes.
            app.save(invoice)
            return Generated(invoice, changed=True)
        if invoice.status is not InvoiceStatus.DRAFT:
            return Generated(invoice, changed=False)
        changed = invoice.refresh(plan, lines, context)
        if changed:
            app.save(invoice)
        return Generated(invoice, changed)

    return retry_on_conflict(command)


def generate_invoice(
    app: PulseApplication,
    project_id: UUID,
    user_id: UUID,
    period: str,
    now: datetime,
    context: CommandContext,
) -> Generated:
    """``generate_for`` on behalf of a member allowed to manage billing."""
    project, _ = require_project(app, project_id, user_id, Permission.MANAGE_BILLING)
    return generate_for(app, project, period, now, context)


def invoice_of(
    app: PulseApplication, invoice_id_: UUID, user_id: UUID, permission: Permission
) -> Invoice:
    """The invoice, if the caller is a member of its organization with ``permission``.

    Membership is checked on the organization (not the project), so a deleted
    project's invoices stay readable by its organization.
    """
    invoice = app.load(invoice_id_, Invoice)
    try:
        require(app, invoice.organization_id, user_id, permission)
    except NotFoundError:
        raise NotFoundError(f"Invoice {invoice_id_}") from None
    return invoice


def get_invoice(app: PulseApplication, invoice_id_: UUID, user_id: UUID) -> View:
    return invoice_view(invoice_of(app, invoice_id_, user_id, Permission.VIEW_USAGE))


def change_status(
    app: PulseApplication,
    invoice_id_: UUID,
    user_id: UUID,
    status: InvoiceStatus,
    reason: str,
    now: datetime,
    context: CommandContext,
) -> View:
    """Finalize, mark paid or void (409 if the lifecycle forbids it; no change if the
    invoice already has that status)."""

    def command() -> View:
        invoice = invoice_of(app, invoice_id_, user_id, Permission.MANAGE_BILLING)
        if invoice.change_status(status, now, context, reason=reason):
            app.save(invoice)
        return invoice_view(invoice)

    return retry_on_conflict(command)


def authorize_project(
    app: PulseApplication, project_id: UUID, user_id: UUID, permission: Permission
) -> Project:
    project, _ = require_project(app, project_id, user_id, permission)
    return project
