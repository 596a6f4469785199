"""Response bodies of the usage routes.

Usage figures: the raw integers the read models keep (``participant_ms``, ...,
``api_requests``) and the same in billing units as decimal strings of three places
(``participant_minutes``, ``egress_minutes``, ``ingress_minutes``, ``storage_gb``,
``bandwidth_gb``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Decimal3 = Field(pattern=r"^\d+\.\d{3}$", description="Billing units, three decimals.")


class UsageFigures(BaseModel):
    participant_ms: int
    egress_ms: int
    ingress_ms: int
    storage_bytes: int
    bandwidth_bytes: int
    api_requests: int
    participant_minutes: str = Decimal3
    egress_minutes: str = Decimal3
    ingress_minutes: str = Decimal3
    storage_gb: str = Field(pattern=r"^\d+\.\d{3}$", description="Decimal GB (10^9 bytes).")
    bandwidth_gb: str = Field(pattern=r"^\d+\.\d{3}$", description="Decimal GB (10^9 bytes).")


class UsageBucketOut(BaseModel):
    start: datetime
    end: datetime
    usage: UsageFigures


class RawUsageOut(BaseModel):
    project_id: str
    granularity: Literal["hour", "day", "month"]
    start: datetime = Field(description="Start of the first whole bucket of the range.")
    end: datetime = Field(description="End of the last whole bucket of the range.")
    items: list[UsageBucketOut] = Field(
        description="The stored buckets, oldest first: only those with usage."
    )


class AggregatedUsageOut(BaseModel):
    project_id: str
    granularity: Literal["hour", "day", "week", "month"]
    start: datetime
    end: datetime
    series: list[UsageBucketOut] = Field(
        description="Every hour, day, week (from Monday) or month of the range, with zeros "
        "where nothing was used."
    )
    totals: UsageFigures


class MeterStatusOut(BaseModel):
    meter: str
    used: str = Field(description="In billing units, three decimals.")
    limit: str | None = Field(description="In billing units; null when unlimited.")
    percent: str | None = Field(
        description="Of the limit, rounded down to two decimals; null when unlimited."
    )
    status: Literal["ok", "warning", "exceeded"] = Field(
        description="`warning` from the plan's alert threshold, `exceeded` at or over the limit."
    )


class UsageSummaryOut(BaseModel):
    project_id: str
    organization_id: str
    period: str
    period_start: datetime
    period_end: datetime
    plan: Literal["free", "pro", "enterprise"] = Field(
        description="The organization's plan now (limits are judged under it)."
    )
    alert_percent: int
    usage: UsageFigures
    meters: list[MeterStatusOut]


class UsageAlertOut(BaseModel):
    id: str
    project_id: str
    organization_id: str
    period: str
    meter: str
    level: Literal["threshold", "limit"]
    percent: str
    used: str
    limit: str
    plan: str
    raised_at: datetime


class LimitCheckOut(BaseModel):
    project_id: str
    period: str
    plan: Literal["free", "pro", "enterprise"]
    meters: list[MeterStatusOut]
    raised: list[UsageAlertOut] = Field(
        description="Alerts this check raised; those raised earlier in the period are in "
        "the alert list."
    )
