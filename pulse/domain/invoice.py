"""Invoice: one project's bill for one billing period (``YYYY-MM``, UTC).

Lifecycle: draft -> finalized -> paid | void (void also straight from draft).

- **draft**: the lines follow the usage; generating the invoice again refreshes them
  (late usage, a plan change) and records ``Refreshed`` only when something changed.
- **finalized**: frozen. Late usage for the period no longer changes it (it would
  become an adjustment on a later invoice, never a silent change of this one).
- **paid** / **void**: terminal.

The id is derived from (project, period), so the monthly job enqueued twice at a
period boundary, a retried request, or a user generating by hand at the same time
as the job all land on the one invoice: the second creation is a duplicate.

Lines are ``InvoiceLine.as_dict()`` values (strings for money and quantities), and
the total is the sum of the lines' rounded amounts (see ``pulse.domain.pricing``),
so an invoice always adds up to the cent.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.errors import InvalidValueError, InvariantError
from pulse.domain.metering import period_bounds
from pulse.domain.plans import CURRENCY, Plan
from pulse.domain.pricing import InvoiceLine, total_of

_INVOICE_NAMESPACE = UUID("5b7e2c90-4f1a-4d38-9e6b-0a2d8c3f71e5")


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    FINALIZED = "finalized"
    PAID = "paid"
    VOID = "void"


# Which statuses each status may move to (anything else is a 409).
_NEXT: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.FINALIZED, InvoiceStatus.VOID}),
    InvoiceStatus.FINALIZED: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}


def invoice_id(project_id: UUID, period: str) -> UUID:
    """One invoice per (project, period): generating twice collides on this id."""
    return uuid5(_INVOICE_NAMESPACE, f"{project_id}:{check_period(period)}")


def check_period(period: str) -> str:
    """``period`` if it is a ``YYYY-MM`` month (zero-padded), else ``InvalidValueError``."""
    try:
        start, _ = period_bounds(period)
    except ValueError:
        raise InvalidValueError(f"period must be YYYY-MM, not {period!r}") from None
    if f"{start:%Y-%m}" != period:
        raise InvalidValueError(f"period must be YYYY-MM, not {period!r}")
    return period


def _line_dicts(lines: list[InvoiceLine]) -> list[dict[str, Any]]:
    return [dict(line.as_dict()) for line in lines]


class Invoice(Aggregate):
    @staticmethod
    def create_id(project_id: UUID, period: str) -> UUID:
        return invoice_id(project_id, period)

    @classmethod
    def draft(
        cls,
        organization_id: UUID,
        project_id: UUID,
        period: str,
        plan: Plan,
        lines: list[InvoiceLine],
        context: CommandContext,
    ) -> Invoice:
        """A new draft priced with ``lines`` (from ``pricing.price_usage``)."""
        return cls(
            organization_id=organization_id,
            project_id=project_id,
            period=check_period(period),
            plan=str(Plan(plan)),
            lines=_line_dicts(lines),
            total=str(total_of(lines)),
            currency=CURRENCY,
            context=context,
        )

    @event("Drafted")
    def __init__(
        self,
        organization_id: UUID,
        project_id: UUID,
        period: str,
        plan: str,
        lines: list[dict[str, Any]],
        total: str,
        currency: str,
        context: CommandContext,
    ) -> None:
        self.organization_id = organization_id
        self.project_id = project_id
        self.period = period
        self.plan = Plan(plan)
        self.line_dicts = list(lines)
        self.total = Decimal(total)
        self.currency = currency
        self.status = InvoiceStatus.DRAFT
        self.finalized_at: datetime | None = None
        self.paid_at: datetime | None = None
        self.voided_at: datetime | None = None
        self.void_reason: str | None = None

    @property
    def lines(self) -> list[InvoiceLine]:
        return [InvoiceLine.from_dict(line) for line in self.line_dicts]

    # -- while draft ---------------------------------------------------------------

    def refresh(self, plan: Plan, lines: list[InvoiceLine], context: CommandContext) -> bool:
        """Re-price the draft; True if the lines (or the plan) changed and were recorded."""
        self._ensure_status(InvoiceStatus.DRAFT, "refreshed")
        new_lines = _line_dicts(lines)
        if new_lines == self.line_dicts and Plan(plan) is self.plan:
            return False
        self._refreshed(
            lines=new_lines, total=str(total_of(lines)), plan=str(Plan(plan)), context=context
        )
        return True

    @event("Refreshed")
    def _refreshed(
        self, lines: list[dict[str, Any]], total: str, plan: str, context: CommandContext
    ) -> None:
        self.line_dicts = list(lines)
        self.total = Decimal(total)
        self.plan = Plan(plan)

    # -- status --------------------------------------------------------------------

    def change_status(
        self, status: InvoiceStatus, at: datetime, context: CommandContext, reason: str = ""
    ) -> bool:
        """Move to ``status``; False if it is already there (a repeated PUT changes nothing),
        ``InvariantError`` if the lifecycle does not allow the move."""
        status = InvoiceStatus(status)
        if status is self.status:
            return False
        if status not in _NEXT[self.status]:
            raise InvariantError(f"A {self.status} invoice cannot become {status}")
        if status is InvoiceStatus.FINALIZED:
            self._finalized(at=at, context=context)
        elif status is InvoiceStatus.PAID:
            self._paid(at=at, context=context)
        else:
            self._voided(at=at, reason=reason, context=context)
        return True

    def finalize(self, at: datetime, context: CommandContext) -> None:
        self._ensure_status(InvoiceStatus.DRAFT, "finalized")
        self._finalized(at=at, context=context)

    def mark_paid(self, at: datetime, context: CommandContext) -> None:
        self._ensure_status(InvoiceStatus.FINALIZED, "paid")
        self._paid(at=at, context=context)

    def void(self, at: datetime, reason: str, context: CommandContext) -> None:
        if InvoiceStatus.VOID not in _NEXT[self.status]:
            raise InvariantError(f"A {self.status} invoice cannot be voided")
        self._voided(at=at, reason=reason, context=context)

    @event("Finalized")
    def _finalized(self, at: datetime, context: CommandContext) -> None:
        self.status = InvoiceStatus.FINALIZED
        self.finalized_at = at

    @event("Paid")
    def _paid(self, at: datetime, context: CommandContext) -> None:
        self.status = InvoiceStatus.PAID
        self.paid_at = at

    @event("Voided")
    def _voided(self, at: datetime, reason: str, context: CommandContext) -> None:
        self.status = InvoiceStatus.VOID
        self.voided_at = at
        self.void_reason = reason

    def _ensure_status(self, expected: InvoiceStatus, becoming: str) -> None:
        if self.status is not expected:
            raise InvariantError(f"A {self.status} invoice cannot be {becoming}")
