"""Request and response bodies of the delivery log: deliveries, attempts, stats, replay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from pulse.api.management_schemas import Input
from pulse.domain.webhook_delivery import DeliveryStatus


class DeliveryOut(BaseModel):
    """One event sent (or being sent) to one endpoint."""

    id: str
    endpoint_id: str
    event_id: str = Field(description="Also the message body's `id`.")
    event_type: str
    message_id: str = Field(
        description="The `webhook-id` header: the same on every attempt, resend and replay."
    )
    status: DeliveryStatus
    round: int = Field(default=1, description="1, plus one per resend or replay of it.")
    attempts: int = Field(description="Attempts in the current round (a resend starts one).")
    total_attempts: int = Field(description="Attempts over every round.")
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime
    succeeded_at: datetime | None = None
    failed_at: datetime | None = None
    updated_at: datetime | None = None


class AttemptOut(BaseModel):
    """One HTTP request of a delivery, and what the endpoint answered."""

    attempt: int = Field(description="Number of the attempt in its round, from 1.")
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str | None = Field(
        default=None, description="`succeeded` or `failed`; null while in flight."
    )
    status_code: int | None = Field(default=None, description="Null: no HTTP answer.")
    latency_ms: float | None = None
    error: str | None = Field(default=None, description="Why it failed (timeout, refused...).")
    response_body: str | None = Field(
        default=None, description="The start of the response body (truncated)."
    )


class DeliveryDetailOut(DeliveryOut):
    occurred_at: datetime | None = None
    payload: dict[str, Any] = Field(description="The JSON body sent, exactly.")
    attempt_log: list[AttemptOut] = Field(
        description="Every attempt, oldest first (eventually consistent, like lists)."
    )


class LatencyOut(BaseModel):
    p50: float | None = None
    p99: float | None = None


class EndpointStatsOut(BaseModel):
    """Success of an endpoint's deliveries (eventually consistent)."""

    endpoint_id: str
    total: int = Field(description="Deliveries of the endpoint.")
    by_status: dict[str, int] = Field(description="Deliveries per status.")
    success_rate: float | None = Field(
        description="Succeeded deliveries over final ones (null: none final yet)."
    )
    attempts: int = Field(default=0, description="Attempts recorded.")
    latency_ms: LatencyOut = Field(default_factory=LatencyOut)
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None


class ReplayIn(Input):
    since: AwareDatetime = Field(
        description="Replay the events that occurred at this time or later (with a time zone)."
    )


class ReplayOut(BaseModel):
    since: datetime
    events: int = Field(description="Events of the period the endpoint accepts.")
    created: int = Field(description="Deliveries created (events the endpoint never had).")
    resent: int = Field(description="Failed deliveries sent again (same `webhook-id`).")
    already_delivered: int = Field(description="Succeeded deliveries, left alone.")
    in_progress: int = Field(description="Deliveries still being attempted, left alone.")
