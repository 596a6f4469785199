"""Limits and alerts as pure logic: exact thresholds, no I/O."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from pulse.domain.context import CommandContext
from pulse.domain.limits import (
    AlertLevel,
    LimitStatus,
    alerts_due,
    evaluate,
    levels_due,
    status_of,
)
from pulse.domain.metering import Meter
from pulse.domain.plans import Plan, terms_of
from pulse.domain.usage_alert import UsageAlert, usage_alert_id

FREE, PRO, ENTERPRISE = terms_of(Plan.FREE), terms_of(Plan.PRO), terms_of(Plan.ENTERPRISE)
MINUTE = 60_000
GB = 1_000_000_000


def test_free_participant_minutes_cross_the_threshold_and_the_limit_exactly() -> None:
    below = status_of(FREE, Meter.PARTICIPANT_MINUTES, 800 * MINUTE - 1)
    assert below.status is LimitStatus.OK
    assert below.percent == Decimal("79.99")  # Rounded down: 80.00 only once reached.
    at_threshold = status_of(FREE, Meter.PARTICIPANT_MINUTES, 800 * MINUTE)
    assert at_threshold.status is LimitStatus.WARNING
    assert at_threshold.percent == Decimal("80.00")
    assert at_threshold.used == Decimal(800)
    assert at_threshold.limit == Decimal(1000)
    just_under = status_of(FREE, Meter.PARTICIPANT_MINUTES, 1000 * MINUTE - 1)
    assert just_under.status is LimitStatus.WARNING
    assert just_under.percent == Decimal("99.99")
    at_limit = status_of(FREE, Meter.PARTICIPANT_MINUTES, 1000 * MINUTE)
    assert at_limit.status is LimitStatus.EXCEEDED
    assert at_limit.percent == Decimal("100.00")
    over = status_of(FREE, Meter.PARTICIPANT_MINUTES, 1500 * MINUTE)
    assert over.percent == Decimal("150.00")


def test_every_meter_is_evaluated_in_its_own_unit() -> None:
    statuses = evaluate(
        PRO,
        {
            Meter.STORAGE_GB: 90 * GB,  # 90 of 100 GB.
            Meter.API_REQUESTS: 999_999,
            Meter.INGRESS_MINUTES: 10**12,  # Metered, never limited.
        },
    )
    by_meter = {status.meter: status for status in statuses}
    assert list(by_meter) == list(Meter)
    assert by_meter[Meter.STORAGE_GB].status is LimitStatus.WARNING
    assert by_meter[Meter.STORAGE_GB].percent == Decimal("90.00")
    assert by_meter[Meter.API_REQUESTS].status is LimitStatus.WARNING
    assert by_meter[Meter.API_REQUESTS].percent == Decimal("99.99")
    assert by_meter[Meter.INGRESS_MINUTES].limit is None
    assert by_meter[Meter.INGRESS_MINUTES].status is LimitStatus.OK
    assert by_meter[Meter.PARTICIPANT_MINUTES].status is LimitStatus.OK
    assert by_meter[Meter.PARTICIPANT_MINUTES].percent == Decimal("0.00")


def test_enterprise_has_no_limits_so_never_alerts() -> None:
    statuses = evaluate(ENTERPRISE, {meter: 10**15 for meter in Meter})
    assert all(status.limit is None and status.percent is None for status in statuses)
    assert alerts_due(statuses) == []


@pytest.mark.parametrize(
    ("raw", "levels"),
    [
        (799 * MINUTE, []),
        (800 * MINUTE, [AlertLevel.THRESHOLD]),
        (1000 * MINUTE, [AlertLevel.THRESHOLD, AlertLevel.LIMIT]),
    ],
)
def test_levels_due(raw: int, levels: list[AlertLevel]) -> None:
    assert levels_due(status_of(FREE, Meter.PARTICIPANT_MINUTES, raw)) == levels


def test_alerts_due_lists_each_meter_and_level() -> None:
    due = alerts_due(
        evaluate(
            FREE, {Meter.PARTICIPANT_MINUTES: 1000 * MINUTE, Meter.EGRESS_MINUTES: 85 * MINUTE}
        )
    )
    assert [(status.meter, level) for status, level in due] == [
        (Meter.PARTICIPANT_MINUTES, AlertLevel.THRESHOLD),
        (Meter.PARTICIPANT_MINUTES, AlertLevel.LIMIT),
        (Meter.EGRESS_MINUTES, AlertLevel.THRESHOLD),
    ]


def test_an_alert_is_one_per_project_period_meter_and_level() -> None:
    project = uuid4()
    context = CommandContext.system("test")
    alert = UsageAlert(
        project_id=project,
        organization_id=uuid4(),
        period="2026-11",
        meter="participant_minutes",
        level="threshold",
        percent="80.00",
        used="800.000",
        limit="1000",
        plan="free",
        context=context,
    )
    assert alert.id == usage_alert_id(project, "2026-11", Meter.PARTICIPANT_MINUTES, "threshold")
    assert alert.meter is Meter.PARTICIPANT_MINUTES
    assert alert.level is AlertLevel.THRESHOLD
    others = {
        usage_alert_id(project, "2026-12", "participant_minutes", "threshold"),
        usage_alert_id(project, "2026-11", "participant_minutes", "limit"),
        usage_alert_id(project, "2026-11", "egress_minutes", "threshold"),
        usage_alert_id(uuid4(), "2026-11", "participant_minutes", "threshold"),
    }
    assert alert.id not in others
    assert len(others) == 4
