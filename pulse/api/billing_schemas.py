"""Request and response bodies of the billing routes (invoices, dashboard, Stripe)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from pulse.api.management_schemas import Input

PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
Money = Field(description="A decimal amount in `currency`, as a string (two decimals).")


class InvoiceLineOut(BaseModel):
    item: str = Field(description="A meter (`participant_minutes`...), or `base_fee`.")
    description: str
    quantity: str = Field(description="In billing units (minutes, GB, requests), 3 decimals.")
    raw_quantity: int = Field(description="In the meter's raw unit: ms, bytes, requests.")
    unit_price: str = Field(description="Price per `per` billing units.")
    per: int
    amount: str = Money


class InvoiceOut(BaseModel):
    id: str
    project_id: str
    organization_id: str
    period: str = Field(description="The billing month, `YYYY-MM` (UTC).")
    plan: Literal["free", "pro", "enterprise"]
    status: Literal["draft", "finalized", "paid", "void"]
    currency: str
    lines: list[InvoiceLineOut]
    total: str = Field(description="The sum of the lines' amounts, exactly.")
    created_at: datetime
    finalized_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None


class InvoiceGenerate(Input):
    period: str = Field(
        pattern=PERIOD_PATTERN,
        description="`YYYY-MM`; the current or a past month (a future one is refused).",
    )


class InvoiceStatusUpdate(Input):
    status: Literal["finalized", "paid", "void"] = Field(
        description="draft -> finalized -> paid; draft or finalized -> void."
    )
    reason: str | None = Field(default=None, max_length=500, description="Why it is voided.")


class UsageOut(BaseModel):
    participant_ms: int
    participant_minutes: str
    egress_ms: int
    egress_minutes: str
    ingress_ms: int
    ingress_minutes: str
    storage_bytes: int
    storage_gb: str
    bandwidth_bytes: int
    bandwidth_gb: str
    api_requests: int


class ChargesOut(BaseModel):
    usage: UsageOut
    lines: list[InvoiceLineOut]
    total: str = Money


class DashboardOut(BaseModel):
    project_id: str
    organization_id: str
    plan: str
    currency: str
    period: str = Field(description="The current billing month.")
    period_start: datetime
    period_end: datetime
    as_of: datetime
    elapsed_share: str = Field(description="Share of the month elapsed at `as_of` (0 to 1).")
    month_to_date: ChargesOut = Field(description="Usage so far this month, priced.")
    projection: ChargesOut = Field(
        description="Each meter's usage so far divided by `elapsed_share` (linear), "
        "priced; the base fee is not scaled."
    )
    recent_invoices: list[InvoiceOut] = Field(description="The latest periods first.")


class StripeCustomerCreate(Input):
    organization_id: UUID


class PaymentMethodCreate(Input):
    organization_id: UUID
    payment_method_id: str = Field(
        min_length=1,
        max_length=255,
        description="A Stripe PaymentMethod id (`pm_...`) made by Stripe.js or the mobile SDKs.",
    )


class PaymentMethodOut(BaseModel):
    id: str
    brand: str
    last4: str


class BillingAccountOut(BaseModel):
    id: str
    organization_id: str
    provider: str
    customer_id: str = Field(description="The customer's id at the provider (`cus_...`).")
    payment_method: PaymentMethodOut | None = Field(description="The default payment method.")
    created_at: datetime
    updated_at: datetime
