"""The Invoice aggregate and its pricing, without I/O: ids, rounding, totals, lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from pulse.domain.billing_account import BillingAccount, billing_account_id
from pulse.domain.context import CommandContext
from pulse.domain.errors import InvalidValueError, InvariantError
from pulse.domain.invoice import Invoice, InvoiceStatus, check_period, invoice_id
from pulse.domain.metering import Meter
from pulse.domain.plans import Plan, terms_of
from pulse.domain.pricing import price_usage, total_of

CONTEXT = CommandContext.system("test")
AT = datetime(2026, 2, 4, 12, tzinfo=UTC)

USAGE = {
    Meter.PARTICIPANT_MINUTES: 12_345_678,  # 205.7613 min x 0.004 = 0.8230452 -> 0.82
    Meter.EGRESS_MINUTES: 3_600_000,  # 60 min x 0.012 = 0.72
    Meter.INGRESS_MINUTES: 1_000_000,  # metered, never priced: no line
    Meter.STORAGE_GB: 2_500_000_000,  # 2.5 GB x 0.10 = 0.25
    Meter.BANDWIDTH_GB: 123_456_789_012,  # 123.456789012 GB x 0.05 = 6.1728394506 -> 6.17
    Meter.API_REQUESTS: 1_234_567,  # 1234.567 thousands x 0.001 = 1.234567 -> 1.23
}


def new_invoice(usage: dict[Meter, int] | None = None, plan: Plan = Plan.PRO) -> Invoice:
    lines = price_usage(terms_of(plan), usage if usage is not None else USAGE)
    return Invoice.draft(uuid4(), uuid4(), "2026-01", plan, lines, CONTEXT)


def replayed(aggregate: Invoice) -> Invoice:
    copy: Any = None
    for stored in aggregate.collect_events():
        copy = stored.mutate(copy)
    assert isinstance(copy, Invoice)
    return copy


def test_the_id_is_one_per_project_and_period() -> None:
    project = uuid4()
    assert invoice_id(project, "2026-01") == invoice_id(project, "2026-01")
    assert invoice_id(project, "2026-01") != invoice_id(project, "2026-02")
    assert invoice_id(project, "2026-01") != invoice_id(uuid4(), "2026-01")
    lines = price_usage(terms_of(Plan.PRO), USAGE)
    assert Invoice.draft(uuid4(), project, "2026-01", Plan.PRO, lines, CONTEXT).id == invoice_id(
        project, "2026-01"
    )


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "26-01", "2026-01-01", "", "january"])
def test_a_period_is_a_zero_padded_month(period: str) -> None:
    with pytest.raises(InvalidValueError):
        check_period(period)


def test_pro_usage_prices_to_exact_lines_and_total() -> None:
    invoice = new_invoice()
    amounts = {line.item: line.amount for line in invoice.lines}
    assert amounts == {
        "base_fee": Decimal("49.00"),
        "participant_minutes": Decimal("0.82"),
        "egress_minutes": Decimal("0.72"),
        "storage_gb": Decimal("0.25"),
        "bandwidth_gb": Decimal("6.17"),
        "api_requests": Decimal("1.23"),
    }
    assert invoice.total == Decimal("58.19") == sum(amounts.values())
    participant = next(line for line in invoice.lines if line.item == "participant_minutes")
    assert participant.quantity == Decimal("205.761")
    assert participant.raw_quantity == 12_345_678
    assert invoice.currency == "USD"
    assert invoice.status is InvoiceStatus.DRAFT


def test_each_line_is_rounded_once_half_up() -> None:
    # 1.25 minutes x 0.004 = 0.005 exactly: half up gives a cent (banker's rounding none).
    half = price_usage(terms_of(Plan.PRO), {Meter.PARTICIPANT_MINUTES: 75_000})
    assert next(li for li in half if li.item == "participant_minutes").amount == Decimal("0.01")
    # Three hours of 50 s each are 0.0033 $ per hour: rounded per hour they would bill
    # nothing; rounded once on the line's exact amount (2.5 min = 0.01 $) they bill a cent.
    hourly = [
        next(
            li.amount
            for li in price_usage(terms_of(Plan.PRO), {Meter.PARTICIPANT_MINUTES: 50_000})
            if li.item == "participant_minutes"
        )
        for _ in range(3)
    ]
    assert sum(hourly) == Decimal("0.00")
    once = price_usage(terms_of(Plan.PRO), {Meter.PARTICIPANT_MINUTES: 150_000})
    assert next(li for li in once if li.item == "participant_minutes").amount == Decimal("0.01")


def test_lines_always_sum_exactly_to_the_total() -> None:
    for n in range(1, 400, 7):
        usage = {meter: n * 987_654_321 // (i + 1) for i, meter in enumerate(Meter)}
        for plan in Plan:
            invoice = new_invoice(usage, plan)
            assert invoice.total == sum((line.amount for line in invoice.lines), Decimal(0))
            assert all(
                line.amount == line.amount.quantize(Decimal("0.01")) for line in invoice.lines
            )


def test_free_plan_invoices_have_no_lines_and_total_zero() -> None:
    invoice = new_invoice(plan=Plan.FREE)
    assert invoice.lines == []
    assert invoice.total == Decimal("0.00")


def test_refresh_records_only_a_change() -> None:
    invoice = new_invoice()
    invoice.collect_events()
    same = price_usage(terms_of(Plan.PRO), USAGE)
    assert invoice.refresh(Plan.PRO, same, CONTEXT) is False
    assert invoice.collect_events() == []

    more = {**USAGE, Meter.EGRESS_MINUTES: 7_200_000}
    assert invoice.refresh(Plan.PRO, price_usage(terms_of(Plan.PRO), more), CONTEXT) is True
    events = invoice.collect_events()
    assert [type(e).__name__ for e in events] == ["Refreshed"]
    assert invoice.total == Decimal("58.91")
    assert invoice.total == total_of(invoice.lines)

    # A plan change alone re-prices too.
    enterprise = price_usage(terms_of(Plan.ENTERPRISE), more)
    assert invoice.refresh(Plan.ENTERPRISE, enterprise, CONTEXT) is True
    assert invoice.plan is Plan.ENTERPRISE


def test_the_lifecycle_draft_finalized_paid() -> None:
    invoice = new_invoice()
    assert invoice.change_status(InvoiceStatus.FINALIZED, AT, CONTEXT) is True
    assert invoice.finalized_at == AT
    with pytest.raises(InvariantError):
        invoice.refresh(Plan.PRO, price_usage(terms_of(Plan.PRO), {}), CONTEXT)
    # Asking again for the status it has is no change (a repeated PUT).
    assert invoice.change_status(InvoiceStatus.FINALIZED, AT, CONTEXT) is False
    assert invoice.change_status(InvoiceStatus.PAID, AT, CONTEXT) is True
    assert invoice.status is InvoiceStatus.PAID
    for illegal in (InvoiceStatus.DRAFT, InvoiceStatus.FINALIZED, InvoiceStatus.VOID):
        with pytest.raises(InvariantError):
            invoice.change_status(illegal, AT, CONTEXT)
    copy = replayed(invoice)
    assert (copy.status, copy.paid_at, copy.total) == (invoice.status, AT, invoice.total)


def test_paid_only_from_finalized_and_void_from_draft_or_finalized() -> None:
    draft = new_invoice()
    with pytest.raises(InvariantError):
        draft.change_status(InvoiceStatus.PAID, AT, CONTEXT)
    with pytest.raises(InvariantError):
        draft.mark_paid(AT, CONTEXT)
    draft.change_status(InvoiceStatus.VOID, AT, CONTEXT, reason="duplicate")
    assert (draft.status, draft.voided_at, draft.void_reason) == (
        InvoiceStatus.VOID,
        AT,
        "duplicate",
    )
    for illegal in (InvoiceStatus.DRAFT, InvoiceStatus.FINALIZED, InvoiceStatus.PAID):
        with pytest.raises(InvariantError):
            draft.change_status(illegal, AT, CONTEXT)

    finalized = new_invoice()
    finalized.finalize(AT, CONTEXT)
    with pytest.raises(InvariantError):
        finalized.finalize(AT, CONTEXT)
    finalized.void(AT, "written off", CONTEXT)
    assert finalized.status is InvoiceStatus.VOID
    with pytest.raises(InvariantError):
        finalized.void(AT, "again", CONTEXT)


def test_events_carry_plain_values_and_replay_to_the_same_invoice() -> None:
    invoice = new_invoice()
    drafted = invoice.pending_events[0]
    assert drafted.total == "58.19"  # type: ignore[attr-defined]
    assert drafted.lines[0] == {  # type: ignore[attr-defined]
        "item": "base_fee",
        "description": "Pro plan",
        "quantity": "1",
        "raw_quantity": 1,
        "unit_price": "49.00",
        "per": 1,
        "amount": "49.00",
    }
    copy = replayed(invoice)
    assert copy.lines == price_usage(terms_of(Plan.PRO), USAGE)
    assert copy.id == invoice.id


def test_a_billing_account_is_one_per_organization() -> None:
    organization = uuid4()
    account = BillingAccount(
        organization_id=organization, provider="stripe", customer_id="cus_1", context=CONTEXT
    )
    assert account.id == billing_account_id(organization)
    assert account.attach_payment_method("pm_1", "visa", "4242", CONTEXT) is True
    assert account.attach_payment_method("pm_1", "visa", "4242", CONTEXT) is False
    assert account.attach_payment_method("pm_2", "mastercard", "4444", CONTEXT) is True
    assert (account.payment_method_id, account.payment_method_last4) == ("pm_2", "4444")
