"""Subscription plans: their limits, alert thresholds, base fees and price lists.

The product plan's figures (section 4), in billing units: minutes, decimal GB
(10^9 bytes), requests. A limit of ``None`` is unlimited. Every project is billed and
limited on its own, under its organization's plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pulse.domain.metering import Meter


class Plan(StrEnum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class UnitPrice:
    amount: Decimal
    """In ``CURRENCY`` per ``per`` billing units."""
    per: int = 1


@dataclass(frozen=True)
class PlanTerms:
    plan: Plan
    limits: dict[Meter, Decimal | None]
    """Per project and billing period; ``None`` is unlimited."""
    alert_percent: int
    """An alert is raised once per period when a meter reaches this share of its limit."""
    base_fee: Decimal
    """Per project and period."""
    prices: dict[Meter, UnitPrice]
    """Meters without a price are metered and shown, never charged."""

    def limit_of(self, meter: Meter) -> Decimal | None:
        return self.limits.get(meter)


CURRENCY = "USD"

_FREE = PlanTerms(
    plan=Plan.FREE,
    limits={
        Meter.PARTICIPANT_MINUTES: Decimal(1_000),
        Meter.EGRESS_MINUTES: Decimal(100),
        Meter.STORAGE_GB: Decimal(1),
        Meter.BANDWIDTH_GB: Decimal(10),
        Meter.API_REQUESTS: Decimal(10_000),
    },
    alert_percent=80,
    base_fee=Decimal("0.00"),
    prices={},
)
_PRO = PlanTerms(
    plan=Plan.PRO,
    limits={
        Meter.PARTICIPANT_MINUTES: Decimal(100_000),
        Meter.EGRESS_MINUTES: Decimal(10_000),
        Meter.STORAGE_GB: Decimal(100),
        Meter.BANDWIDTH_GB: Decimal(1_000),
        Meter.API_REQUESTS: Decimal(1_000_000),
    },
    alert_percent=80,
    base_fee=Decimal("49.00"),
    prices={
        Meter.PARTICIPANT_MINUTES: UnitPrice(Decimal("0.004")),
        Meter.EGRESS_MINUTES: UnitPrice(Decimal("0.012")),
        Meter.STORAGE_GB: UnitPrice(Decimal("0.10")),
        Meter.BANDWIDTH_GB: UnitPrice(Decimal("0.05")),
        Meter.API_REQUESTS: UnitPrice(Decimal("0.001"), per=1_000),
    },
)
_ENTERPRISE = PlanTerms(
    plan=Plan.ENTERPRISE,
    limits={},
    alert_percent=90,
    base_fee=Decimal("299.00"),
    prices={
        Meter.PARTICIPANT_MINUTES: UnitPrice(Decimal("0.003")),
        Meter.EGRESS_MINUTES: UnitPrice(Decimal("0.010")),
        Meter.STORAGE_GB: UnitPrice(Decimal("0.08")),
        Meter.BANDWIDTH_GB: UnitPrice(Decimal("0.04")),
        Meter.API_REQUESTS: UnitPrice(Decimal("0.0008"), per=1_000),
    },
)

PLAN_TERMS: dict[Plan, PlanTerms] = {terms.plan: terms for terms in (_FREE, _PRO, _ENTERPRISE)}


def terms_of(plan: Plan | str) -> PlanTerms:
    return PLAN_TERMS[Plan(plan)]
