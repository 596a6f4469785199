"""Where a project's period usage stands against its plan's limits, and which alerts
are due. Pure: usage in, statuses out; the service decides what to save.

A meter is ``exceeded`` at or over its limit (the limit is what is included, so
reaching it exhausts it), ``warning`` at or over the plan's alert share of it, and
``ok`` below that or when it has no limit (Enterprise, ingress minutes). Comparisons
are exact (``Decimal`` of raw units); only the shown percent is rounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from pulse.domain.metering import Meter
from pulse.domain.plans import PlanTerms

_PERCENT_PLACES = Decimal("0.01")
_HUNDRED = Decimal(100)


class LimitStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"
    EXCEEDED = "exceeded"


class AlertLevel(StrEnum):
    THRESHOLD = "threshold"
    """The plan's alert share (80 % Free and Pro, 90 % Enterprise) was reached."""
    LIMIT = "limit"
    """The whole limit was reached."""


@dataclass(frozen=True)
class MeterStatus:
    meter: Meter
    raw: int
    """Used, in the meter's raw unit (ms, bytes, requests)."""
    used: Decimal
    """Used, in billing units, exact."""
    limit: Decimal | None
    """In billing units; ``None`` is unlimited."""
    percent: Decimal | None
    """``used / limit`` in percent, rounded down to 0.01 (so a shown 80.00 is really
    reached); ``None`` when unlimited."""
    status: LimitStatus


def shown_percent(used: Decimal, limit: Decimal) -> Decimal:
    return (used * _HUNDRED / limit).quantize(_PERCENT_PLACES, rounding=ROUND_DOWN)


def status_of(terms: PlanTerms, meter: Meter, raw: int) -> MeterStatus:
    used = meter.in_units(raw)
    limit = terms.limit_of(meter)
    if limit is None:
        return MeterStatus(meter, raw, used, None, None, LimitStatus.OK)
    if used >= limit:
        status = LimitStatus.EXCEEDED
    elif used * _HUNDRED >= limit * terms.alert_percent:
        status = LimitStatus.WARNING
    else:
        status = LimitStatus.OK
    percent = shown_percent(used, limit) if limit > 0 else _HUNDRED
    return MeterStatus(meter, raw, used, limit, percent, status)


def evaluate(terms: PlanTerms, raw_usage: Mapping[Meter, int]) -> list[MeterStatus]:
    """Every meter's standing, in ``Meter`` order (absent meters are unused)."""
    return [status_of(terms, meter, int(raw_usage.get(meter, 0))) for meter in Meter]


def levels_due(status: MeterStatus) -> list[AlertLevel]:
    """The alert levels a meter's standing calls for, lowest first.

    A meter that went from below the threshold to over its limit between two checks
    gets both: each level is its own once-per-period alert, and a receiver that acts
    only on one of them still hears it.
    """
    if status.status is LimitStatus.EXCEEDED:
        return [AlertLevel.THRESHOLD, AlertLevel.LIMIT]
    if status.status is LimitStatus.WARNING:
        return [AlertLevel.THRESHOLD]
    return []


def alerts_due(statuses: list[MeterStatus]) -> list[tuple[MeterStatus, AlertLevel]]:
    return [(status, level) for status in statuses for level in levels_due(status)]
