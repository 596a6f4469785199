"""What Pulse meters, in which raw unit, and how a span of time splits into hourly buckets.

Usage is kept in exact integer raw units (milliseconds, bytes, requests) everywhere
it is stored; it becomes minutes or GB only where it is shown or priced, so sums
never drift and a replay reproduces every figure to the unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

HOUR = timedelta(hours=1)
_MILLISECOND = timedelta(milliseconds=1)


class Meter(StrEnum):
    PARTICIPANT_MINUTES = "participant_minutes"
    EGRESS_MINUTES = "egress_minutes"
    INGRESS_MINUTES = "ingress_minutes"
    STORAGE_GB = "storage_gb"
    BANDWIDTH_GB = "bandwidth_gb"
    API_REQUESTS = "api_requests"

    @property
    def raw_field(self) -> str:
        """The integer field holding this meter in raw units (read models, reports)."""
        return _RAW_FIELDS[self]

    @property
    def units_per_raw(self) -> Decimal:
        """How many raw units make one billing unit (a minute, a GB, a request)."""
        return _RAW_PER_UNIT[self]

    def in_units(self, raw: int) -> Decimal:
        """Raw usage in billing units, exact (``Decimal`` division at 28 digits)."""
        return Decimal(raw) / self.units_per_raw


_RAW_FIELDS = {
    Meter.PARTICIPANT_MINUTES: "participant_ms",
    Meter.EGRESS_MINUTES: "egress_ms",
    Meter.INGRESS_MINUTES: "ingress_ms",
    Meter.STORAGE_GB: "storage_bytes",
    Meter.BANDWIDTH_GB: "bandwidth_bytes",
    Meter.API_REQUESTS: "api_requests",
}
_MS_PER_MINUTE = Decimal(60_000)
_BYTES_PER_GB = Decimal(1_000_000_000)  # Decimal gigabytes, as cloud providers bill.
_RAW_PER_UNIT = {
    Meter.PARTICIPANT_MINUTES: _MS_PER_MINUTE,
    Meter.EGRESS_MINUTES: _MS_PER_MINUTE,
    Meter.INGRESS_MINUTES: _MS_PER_MINUTE,
    Meter.STORAGE_GB: _BYTES_PER_GB,
    Meter.BANDWIDTH_GB: _BYTES_PER_GB,
    Meter.API_REQUESTS: Decimal(1),
}

RAW_FIELDS: tuple[str, ...] = tuple(_RAW_FIELDS[meter] for meter in Meter)


@dataclass(frozen=True, slots=True)
class Contribution:
    """Raw usage of one project, one meter, in one UTC hour, from one source event."""

    project_id: UUID
    meter: Meter
    hour: datetime
    """The start of the UTC hour (minute, second and microsecond zero, tz-aware)."""
    quantity: int


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour ``moment`` falls in (a naive time is taken as UTC)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> datetime:
    return hour_of(moment).replace(hour=0)


def month_of(moment: datetime) -> datetime:
    return day_of(moment).replace(day=1)


def period_of(moment: datetime) -> str:
    """The billing period (``YYYY-MM``, UTC) ``moment`` falls in."""
    return f"{month_of(moment):%Y-%m}"


def previous_period(moment: datetime) -> str:
    """The billing period before the one ``moment`` falls in."""
    return period_of(month_of(moment) - _MILLISECOND)


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a ``YYYY-MM`` period in UTC; ValueError if malformed."""
    start = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def split_by_hour(start: datetime, end: datetime) -> Iterator[tuple[datetime, int]]:
    """Whole milliseconds of ``[start, end)`` in each UTC hour it touches.

    Milliseconds are counted from ``start`` (``(t - start) // 1 ms``), so the pieces
    always add up to exactly the span's own millisecond count: a session of 59.9996 s
    is 59,999 ms however many hours it crosses. Hours with no whole millisecond are
    left out.
    """
    start, end = _utc(start), _utc(end)
    if end <= start:
        return
    elapsed_before = 0
    boundary = hour_of(start) + HOUR
    hour = hour_of(start)
    while True:
        piece_end = min(boundary, end)
        elapsed = (piece_end - start) // _MILLISECOND
        if elapsed > elapsed_before:
            yield hour, elapsed - elapsed_before
        elapsed_before = elapsed
        if piece_end >= end:
            return
        hour, boundary = boundary, boundary + HOUR


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
