"""Period arithmetic and the dense series, pure (pandas, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pulse.domain.metering import Meter
from pulse.queries.pagination import InvalidQueryError
from pulse.queries.usage_views import covering, dense_series, floor_to, totals_of, usage_json


def at(day: int, hour: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def test_periods_start_on_the_hour_day_monday_and_first_of_the_month() -> None:
    moment = datetime(2026, 10, 8, 13, 45, 12, tzinfo=UTC)  # A Thursday.
    assert floor_to(moment, "hour") == at(8, 13)
    assert floor_to(moment, "day") == at(8)
    assert floor_to(moment, "week") == at(5)
    assert floor_to(moment, "month") == at(1)
    assert covering(at(8, 13), at(20, 1), "week") == (at(5), at(26))
    assert covering(at(8), at(9), "day") == (at(8), at(9))  # ``to`` is exclusive.
    assert covering(at(31), at(1, 0, 11), "month") == (at(1), at(1, 0, 11))
    with pytest.raises(InvalidQueryError):
        covering(at(9), at(8), "day")
    with pytest.raises(InvalidQueryError):
        covering(at(9), at(9), "day")


def test_a_dense_series_sums_buckets_into_periods_with_zeros_between() -> None:
    documents = [
        {"start": at(5), "participant_ms": 60_000, "api_requests": 2},
        {"start": at(7), "participant_ms": 30_000},
        {"start": at(13), "egress_ms": 90_000, "storage_bytes": 10**9},
    ]
    days = dense_series(documents, "day", at(4), at(9))
    assert [bucket.start for bucket in days] == [at(4), at(5), at(6), at(7), at(8)]
    assert [bucket.raw[Meter.PARTICIPANT_MINUTES] for bucket in days] == [0, 60_000, 0, 30_000, 0]
    assert days[1].end == at(6)

    weeks = dense_series(documents, "week", at(28, 0, 9), at(19))
    assert [bucket.start for bucket in weeks] == [at(28, 0, 9), at(5), at(12)]
    assert [bucket.raw[Meter.PARTICIPANT_MINUTES] for bucket in weeks] == [0, 90_000, 0]
    assert weeks[2].raw[Meter.STORAGE_GB] == 10**9
    totals = totals_of(weeks)
    assert totals[Meter.PARTICIPANT_MINUTES] == 90_000
    assert totals[Meter.API_REQUESTS] == 2
    assert totals[Meter.EGRESS_MINUTES] == 90_000

    months = dense_series(documents, "month", at(1, 0, 9), at(1, 0, 12))
    assert [bucket.start for bucket in months] == [at(1, 0, 9), at(1), at(1, 0, 11)]
    assert [bucket.raw[Meter.EGRESS_MINUTES] for bucket in months] == [0, 90_000, 0]

    empty = dense_series([], "hour", at(5, 22), at(6, 2))
    assert [bucket.start for bucket in empty] == [at(5, 22), at(5, 23), at(6, 0), at(6, 1)]
    assert all(value == 0 for bucket in empty for value in bucket.raw.values())


def test_large_figures_stay_exact() -> None:
    huge = 9 * 10**15  # Beyond a float's exact integers once summed twice.
    documents = [{"start": at(5, h), "bandwidth_bytes": huge + h} for h in range(3)]
    (day,) = dense_series(documents, "day", at(5), at(6))
    assert day.raw[Meter.BANDWIDTH_GB] == 3 * huge + 3


def test_usage_is_shown_raw_and_in_billing_units() -> None:
    shown = usage_json(
        {
            Meter.PARTICIPANT_MINUTES: 90_500,
            Meter.STORAGE_GB: 1_234_567_890,
            Meter.API_REQUESTS: 7,
        }
    )
    assert shown == {
        "participant_ms": 90_500,
        "egress_ms": 0,
        "ingress_ms": 0,
        "storage_bytes": 1_234_567_890,
        "bandwidth_bytes": 0,
        "api_requests": 7,
        "participant_minutes": "1.508",
        "egress_minutes": "0.000",
        "ingress_minutes": "0.000",
        "storage_gb": "1.235",
        "bandwidth_gb": "0.000",
    }
