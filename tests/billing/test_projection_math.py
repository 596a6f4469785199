"""The dashboard's month-end projection, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from pulse.domain.metering import Meter, period_bounds
from pulse.domain.plans import Plan, terms_of
from pulse.domain.pricing import price_usage, total_of
from pulse.services.billing_dashboard import elapsed_share, project_usage, usage_json

START, END = period_bounds("2026-02")  # 28 days


def test_the_elapsed_share_is_exact_and_bounded() -> None:
    assert elapsed_share(START, START, END) == 0
    assert elapsed_share(datetime(2026, 2, 15, tzinfo=UTC), START, END) == Decimal(14) / 28
    assert elapsed_share(END, START, END) == 1
    assert elapsed_share(datetime(2026, 4, 1, tzinfo=UTC), START, END) == 1
    assert elapsed_share(datetime(2026, 1, 1, tzinfo=UTC), START, END) == 0


def test_usage_is_scaled_linearly_and_the_base_fee_is_not() -> None:
    quarter = elapsed_share(datetime(2026, 2, 8, tzinfo=UTC), START, END)
    assert quarter == Decimal("0.25")
    usage = {Meter.PARTICIPANT_MINUTES: 600_000, Meter.API_REQUESTS: 333}
    projected = project_usage(usage, quarter)
    assert projected[Meter.PARTICIPANT_MINUTES] == 2_400_000
    assert projected[Meter.API_REQUESTS] == 1_332
    assert projected[Meter.EGRESS_MINUTES] == 0
    lines = price_usage(terms_of(Plan.PRO), projected)
    base = next(line for line in lines if line.item == "base_fee")
    assert base.amount == Decimal("49.00")  # Once, not four times.
    # 40 minutes x 0.004 = 0.16; 1.332 thousand requests x 0.001 = 0.001332 -> 0.00.
    assert total_of(lines) == Decimal("49.16")


def test_projected_raw_usage_rounds_half_up_to_the_unit() -> None:
    third = Decimal(1) / Decimal(3)
    assert project_usage({Meter.API_REQUESTS: 1}, third)[Meter.API_REQUESTS] == 3
    assert project_usage({Meter.API_REQUESTS: 1}, Decimal("0.4"))[Meter.API_REQUESTS] == 3  # 2.5


def test_nothing_elapsed_projects_the_usage_so_far() -> None:
    usage = {Meter.EGRESS_MINUTES: 5}
    assert project_usage(usage, Decimal(0))[Meter.EGRESS_MINUTES] == 5


def test_usage_json_shows_raw_values_and_billing_units() -> None:
    shown = usage_json({Meter.PARTICIPANT_MINUTES: 12_345_678, Meter.STORAGE_GB: 123_456_789})
    assert shown["participant_ms"] == 12_345_678
    assert shown["participant_minutes"] == "205.761"
    assert shown["storage_gb"] == "0.123"
    assert shown["api_requests"] == 0
    assert "api_requests_count" not in shown
