"""Recompute a project's period from the event store alone and compare it with what is stored.

``pulse billing recompute`` calls ``recompute``. It reads every usage event of the
store once (``USAGE_TOPICS``, in notification order), folds the contributions of
the project inside the period (``usage_events.contributions_of``, the same mapping
the ``usage`` projection folds) into hourly, daily and monthly buckets, prices the
month with the plan in effect at the period's end (``pricing.price_usage``), then
compares, field by field:

- every stored ``rm_usage_buckets`` document of the project and period (each raw
  counter, and the fields that say which bucket it is) with the recomputed one; a
  bucket on one side only differs in each of its non-zero counters;
- each stored invoice of the period that is not void (``rm_invoices``), line by
  line: the amount to the cent and the raw quantity, then the total and the plan.

Nothing is written. The read model may lag the store (a runner catching up):
``RecomputeReport.lag`` says by how many notifications, as differences may then
be lag rather than corruption.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from pymongo.database import Database

from pulse.config import Settings
from pulse.domain.metering import RAW_FIELDS, Contribution, Meter, period_bounds
from pulse.domain.plans import Plan, terms_of
from pulse.domain.pricing import InvoiceLine, price_usage, total_of
from pulse.domain.project import Project
from pulse.domain.usage_events import USAGE_TOPICS, contributions_of
from pulse.eventstore.application_recorder import MongoApplicationRecorder
from pulse.projections.collections import INVOICES, USAGE_BUCKETS
from pulse.projections.model import Document
from pulse.projections.store import newest_notification_id, tracking_recorder
from pulse.projections.usage import MONTH, bucket_id, bucket_starts, empty_bucket
from pulse.projections.usage import PROJECTION as USAGE_PROJECTION
from pulse.services.application import PulseApplication
from pulse.services.clock import as_utc
from pulse.services.plan_history import plan_at

_IDENTITY_FIELDS = ("project_id", "granularity", "start", "period")


@dataclass(frozen=True)
class BucketDifference:
    bucket_id: str
    field: str
    stored: Any
    """None: the bucket (or the field) is not stored."""
    recomputed: Any
    """None: the recomputation has no such bucket."""


@dataclass(frozen=True)
class LineDifference:
    item: str
    field: str
    """``amount``, ``raw_quantity``, ``total`` or ``plan``."""
    stored: Any
    recomputed: Any


@dataclass(frozen=True)
class InvoiceComparison:
    invoice_id: str
    status: str | None
    stored_lines: list[dict[str, Any]]
    differences: list[LineDifference]


@dataclass
class RecomputeReport:
    project_id: UUID
    period: str
    plan: Plan
    events_read: int
    """Usage events of every project read from the store (up to ``newest``)."""
    contributions: int
    """Of them, contributions to this project and period."""
    newest: int
    """The newest notification id when the recomputation started."""
    lag: int
    """Notifications the ``usage`` projection had not recorded as applied."""
    buckets: dict[str, Document]
    usage: dict[Meter, int]
    lines: list[InvoiceLine]
    total: Decimal
    bucket_differences: list[BucketDifference] = field(default_factory=list)
    invoices: list[InvoiceComparison] = field(default_factory=list)

    @property
    def has_differences(self) -> bool:
        return bool(self.bucket_differences) or any(i.differences for i in self.invoices)


# -- Recomputing -------------------------------------------------------------------


def usage_contributions(
    app: PulseApplication, upto: int | None = None
) -> Iterator[tuple[int, Contribution]]:
    """Every usage contribution in the store, with its notification id, in log order."""
    for notification in _usage_notifications(app, upto):
        event = app.mapper.to_domain_event(notification)
        for contribution in contributions_of(event):
            yield notification.id, contribution


def _usage_notifications(app: PulseApplication, upto: int | None) -> Iterator[Notification]:
    recorder = app.recorder
    if isinstance(recorder, MongoApplicationRecorder):
        # One pass over the store: FerretDB reads the whole collection for every query.
        yield from recorder.stream_notifications(after=0, upto=upto, topics=tuple(USAGE_TOPICS))
        return
    # Other stores (tests with the in-memory one): page through the log.
    position = 0
    while True:
        page = recorder.select_notifications(
            position, 1_000, stop=upto, topics=tuple(USAGE_TOPICS), inclusive_of_start=False
        )
        if not page:
            return
        yield from page
        position = page[-1].id


def fold_buckets(
    project_id: UUID, period: str, contributions: Iterable[tuple[int, Contribution]]
) -> tuple[dict[str, Document], int]:
    """The project's hourly, daily and monthly buckets of ``period`` as the projection
    would write them (``applied_through`` aside), and how many contributions fed them."""
    start, end = period_bounds(period)
    wanted = str(project_id)
    buckets: dict[str, Document] = {}
    counted = 0
    for _, contribution in contributions:
        if str(contribution.project_id) != wanted or not start <= contribution.hour < end:
            continue
        counted += 1
        raw_field = contribution.meter.raw_field
        for granularity, bucket_start in bucket_starts(contribution.hour):
            key = bucket_id(wanted, granularity, bucket_start)
            bucket = buckets.get(key)
            if bucket is None:
                bucket = buckets[key] = empty_bucket(wanted, granularity, bucket_start)
                del bucket["applied_through"]
            bucket[raw_field] += contribution.quantity
    return buckets, counted


def recompute(
    app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    project_id: UUID,
    period: str,
) -> RecomputeReport:
    """Rebuild ``period``'s usage and invoice of ``project_id`` from the events and compare.

    Raises ``pulse.services.errors.NotFoundError`` for an unknown project and
    ``ValueError`` for a malformed period.
    """
    start, end = period_bounds(period)
    project = app.load(project_id, Project)
    plan = plan_at(app, project.organization_id, end)
    newest = newest_notification_id(app)
    position = tracking_recorder(app, settings).max_tracking_id(USAGE_PROJECTION.name) or 0

    events_read = 0

    def counted() -> Iterator[tuple[int, Contribution]]:
        nonlocal events_read
        last = 0
        for notification_id, contribution in usage_contributions(app, upto=newest):
            if notification_id != last:
                events_read += 1
                last = notification_id
            yield notification_id, contribution

    buckets, contributions = fold_buckets(project_id, period, counted())
    month = buckets.get(bucket_id(project_id, MONTH, start))
    usage = {meter: int((month or {}).get(meter.raw_field, 0)) for meter in Meter}
    lines = price_usage(terms_of(plan), usage)
    report = RecomputeReport(
        project_id=project_id,
        period=period,
        plan=plan,
        events_read=events_read,
        contributions=contributions,
        newest=newest,
        lag=max(0, newest - position),
        buckets=buckets,
        usage=usage,
        lines=lines,
        total=total_of(lines),
    )
    report.bucket_differences = compare_buckets(
        buckets, _stored_buckets(database, project_id, period, buckets)
    )
    report.invoices = [
        compare_invoice(invoice, plan, lines)
        for invoice in database[INVOICES].find({"project_id": str(project_id), "period": period})
        if invoice.get("status") != "void"
    ]
    return report


# -- Comparing ---------------------------------------------------------------------


def _stored_buckets(
    database: Database[Document], project_id: UUID, period: str, expected: dict[str, Document]
) -> dict[str, Document]:
    # By id as well as by fields: a bucket whose fields were damaged is still found.
    query = {
        "$or": [
            {"project_id": str(project_id), "period": period},
            {"_id": {"$in": list(expected)}},
        ]
    }
    return {str(doc["_id"]): doc for doc in database[USAGE_BUCKETS].find(query)}


def _comparable(value: Any) -> Any:
    return as_utc(value) if isinstance(value, datetime) else value


def compare_buckets(
    expected: dict[str, Document], stored: dict[str, Document]
) -> list[BucketDifference]:
    differences: list[BucketDifference] = []
    for key in sorted(set(expected) | set(stored)):
        want, have = expected.get(key), stored.get(key)
        if want is not None:
            fields = (*_IDENTITY_FIELDS, *RAW_FIELDS) if have is not None else RAW_FIELDS
            for name in fields:
                wanted = want[name]
                if have is None:
                    if wanted:
                        differences.append(BucketDifference(key, name, None, wanted))
                    continue
                found = have.get(name)
                if name in RAW_FIELDS and found is None:
                    found = None if wanted else 0
                if _comparable(found) != _comparable(wanted):
                    differences.append(BucketDifference(key, name, found, wanted))
        elif have is not None:
            differences += [
                BucketDifference(key, name, have.get(name), None)
                for name in RAW_FIELDS
                if have.get(name)
            ]
    return differences


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def compare_invoice(invoice: Document, plan: Plan, lines: list[InvoiceLine]) -> InvoiceComparison:
    stored_lines = [dict(line) for line in invoice.get("lines") or []]
    stored_by_item = {str(line.get("item")): line for line in stored_lines}
    recomputed = {line.item: line for line in lines}
    differences: list[LineDifference] = []
    for item in [*recomputed, *(i for i in stored_by_item if i not in recomputed)]:
        have, want = stored_by_item.get(item), recomputed.get(item)
        stored_amount = None if have is None else _money(have.get("amount"))
        wanted_amount = None if want is None else want.amount
        if stored_amount != wanted_amount:
            differences.append(LineDifference(item, "amount", stored_amount, wanted_amount))
        if (
            have is not None
            and want is not None
            and "raw_quantity" in have
            and int(have["raw_quantity"]) != want.raw_quantity
        ):
            differences.append(
                LineDifference(item, "raw_quantity", int(have["raw_quantity"]), want.raw_quantity)
            )
    stored_total, wanted_total = _money(invoice.get("total")), total_of(lines)
    if stored_total != wanted_total:
        differences.append(LineDifference("total", "total", stored_total, wanted_total))
    stored_plan = invoice.get("plan")
    if stored_plan is not None and str(stored_plan) != str(plan):
        differences.append(LineDifference("plan", "plan", str(stored_plan), str(plan)))
    status = invoice.get("status")
    return InvoiceComparison(
        invoice_id=str(invoice["_id"]),
        status=None if status is None else str(status),
        stored_lines=stored_lines,
        differences=differences,
    )


# -- Reporting ---------------------------------------------------------------------


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, datetime):
        return f"{as_utc(value):%Y-%m-%dT%H:%M:%SZ}"
    return str(value)


def render(report: RecomputeReport) -> list[str]:
    """The report as lines of text, for the CLI."""
    out = [
        f"Project {report.project_id}, period {report.period}, plan {report.plan}",
        f"Usage events read: {report.events_read} (up to notification {report.newest}); "
        f"{report.contributions} contributions to this project and period",
    ]
    if report.lag:
        out.append(
            f"Note: the usage read model is {report.lag} notifications behind the store; "
            "differences may be lag (catch up, then recompute again)."
        )
    out.append("Recomputed usage:")
    out += [
        f"  {meter:<20} {report.usage[meter]:>16} {meter.raw_field:<16} "
        f"= {meter.in_units(report.usage[meter]):.3f}"
        for meter in Meter
    ]
    hours = sum(1 for b in report.buckets.values() if b["granularity"] == "hour")
    days = sum(1 for b in report.buckets.values() if b["granularity"] == "day")
    months = len(report.buckets) - hours - days
    out.append(f"Buckets recomputed: {hours} hourly, {days} daily, {months} monthly")
    if report.bucket_differences:
        out.append(f"Bucket differences ({len(report.bucket_differences)}):")
        out += [
            f"  {d.bucket_id} {d.field}: stored {_shown(d.stored)}, "
            f"recomputed {_shown(d.recomputed)}"
            for d in report.bucket_differences
        ]
    else:
        out.append("Buckets: no difference.")
    out.append("Recomputed invoice:")
    out += [f"  {line.item:<20} {line.raw_quantity:>16} {line.amount:>12}" for line in report.lines]
    out.append(f"  {'total':<20} {'':>16} {report.total:>12}")
    if not report.invoices:
        out.append("No invoice stored for the period: nothing to compare.")
    for invoice in report.invoices:
        head = f"Invoice {invoice.invoice_id} ({invoice.status or 'no status'})"
        if not invoice.differences:
            out.append(f"{head}: no difference.")
            continue
        out.append(f"{head} differences ({len(invoice.differences)}):")
        out += [
            f"  {d.item} {d.field}: stored {_shown(d.stored)}, recomputed {_shown(d.recomputed)}"
            for d in invoice.differences
        ]
    out.append("DIFFERENCES FOUND" if report.has_differences else "No difference.")
    return out
