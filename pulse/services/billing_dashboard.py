"""A project's billing dashboard: month-to-date usage and charges, a projection to
the end of the month, and the most recent invoices.

Projection rule: each meter's month-to-date raw usage is scaled by the inverse of
the elapsed share of the month, ``projected = round_half_up(mtd x month / elapsed)``
(to the raw unit: millisecond, byte, request), then priced like an invoice. The
base fee is a flat monthly fee, so it is never scaled. Scaling is linear: usage is
assumed to go on at the month's average rate so far. In the first second of a month
nothing has elapsed to extrapolate from, and the projection is the usage so far.
The arithmetic is exact ``Decimal`` arithmetic (no floats), so the projected
figures of a given instant are reproducible to the unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from pymongo import DESCENDING
from pymongo.database import Database

from pulse.domain.metering import Meter, period_bounds, period_of
from pulse.domain.organization import Organization
from pulse.domain.plans import CURRENCY, terms_of
from pulse.domain.pricing import InvoiceLine, price_usage, shown_quantity, total_of
from pulse.domain.roles import Permission
from pulse.projections.collections import INVOICES
from pulse.projections.model import Document
from pulse.projections.store import read_model_database
from pulse.queries.usage import period_usage
from pulse.services.application import PulseApplication
from pulse.services.authorization import require_project
from pulse.services.views import View

RECENT_INVOICES = 6
_SHARE_PLACES = Decimal("0.000001")
_MS = timedelta(milliseconds=1)


def elapsed_share(now: datetime, start: datetime, end: datetime) -> Decimal:
    """How much of ``[start, end)`` has passed at ``now`` (0 to 1), exactly."""
    span_ms = (end - start) // _MS
    elapsed_ms = min(max((now - start) // _MS, 0), span_ms)
    return Decimal(elapsed_ms) / Decimal(span_ms)


def project_usage(usage: Mapping[Meter, int], share: Decimal) -> dict[Meter, int]:
    """Month-to-date usage scaled to the whole month (linear; see the module's doc)."""
    if share <= 0:
        return {meter: int(usage.get(meter, 0)) for meter in Meter}
    return {
        meter: int((Decimal(int(usage.get(meter, 0))) / share).to_integral_value(ROUND_HALF_UP))
        for meter in Meter
    }


def usage_json(usage: Mapping[Meter, int]) -> dict[str, Any]:
    """Raw integers and billing units (strings, three decimals), as the usage routes show."""
    shown: dict[str, Any] = {}
    for meter in Meter:
        raw = int(usage.get(meter, 0))
        shown[meter.raw_field] = raw
        if meter.raw_field != str(meter):
            shown[str(meter)] = str(shown_quantity(meter.in_units(raw)))
    return shown


def _charges(usage: Mapping[Meter, int], lines: list[InvoiceLine]) -> dict[str, Any]:
    return {
        "usage": usage_json(usage),
        "lines": [line.as_dict() for line in lines],
        "total": str(total_of(lines)),
    }


def recent_invoices(database: Database[Document], project_id: UUID) -> list[Document]:
    found = (
        database[INVOICES]
        .find({"project_id": str(project_id)})
        .sort([("period_start", DESCENDING)])
        .limit(RECENT_INVOICES)
    )
    return list(found)


def dashboard(app: PulseApplication, project_id: UUID, user_id: UUID, now: datetime) -> View:
    project, _ = require_project(app, project_id, user_id, Permission.VIEW_USAGE)
    organization = app.load(project.organization_id, Organization)
    terms = terms_of(organization.plan)
    period = period_of(now)
    start, end = period_bounds(period)
    database = read_model_database(app)
    usage = period_usage(database, project_id, period)
    share = elapsed_share(now, start, end)
    projected = project_usage(usage, share)
    return {
        "project_id": str(project_id),
        "organization_id": str(project.organization_id),
        "plan": str(organization.plan),
        "currency": CURRENCY,
        "period": period,
        "period_start": start,
        "period_end": end,
        "as_of": now,
        "elapsed_share": str(share.quantize(_SHARE_PLACES, rounding=ROUND_HALF_UP)),
        "month_to_date": _charges(usage, price_usage(terms, usage)),
        "projection": _charges(projected, price_usage(terms, projected)),
        "recent_invoices": recent_invoices(database, project_id),
    }
