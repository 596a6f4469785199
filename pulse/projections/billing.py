"""``rm_invoices`` and ``rm_billing_accounts``: invoices for lists and the dashboard,
and each organization's customer at the payment provider.

An invoice document holds the API's invoice resource (``invoices.invoice_view``) with
``_id`` for ``id``, plus ``period_start`` (lists are ordered by it) and
``void_reason``. A billing account document: ``organization_id``, ``provider``,
``customer_id``, ``payment_method`` ({id, brand, last4} or None).
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pulse.domain.billing_account import BillingAccount
from pulse.domain.invoice import Invoice, InvoiceStatus
from pulse.domain.metering import period_bounds
from pulse.domain.plans import CURRENCY
from pulse.projections.collections import BILLING_ACCOUNTS, INVOICES
from pulse.projections.model import Document, Projection, event_topic
from pulse.projections.writes import change, create, text, utc


def _drafted(database: Database[Document], event: Any) -> None:
    at = utc(event.timestamp)
    create(
        database[INVOICES],
        text(event.originator_id),
        event.originator_version,
        {
            "project_id": text(event.project_id),
            "organization_id": text(event.organization_id),
            "period": event.period,
            "period_start": period_bounds(event.period)[0],
            "plan": text(event.plan),
            "status": str(InvoiceStatus.DRAFT),
            "currency": event.currency or CURRENCY,
            "lines": [dict(line) for line in event.lines],
            "total": str(event.total),
            "created_at": at,
            "updated_at": at,
            "finalized_at": None,
            "paid_at": None,
            "voided_at": None,
            "void_reason": None,
        },
    )


def _invoice_change(fields_of: Any) -> Any:
    """A handler setting ``fields_of(event)`` plus ``updated_at`` on the invoice."""

    def handler(database: Database[Document], event: Any) -> None:
        change(
            database[INVOICES],
            text(event.originator_id),
            event.originator_version,
            {**fields_of(event), "updated_at": utc(event.timestamp)},
        )

    return handler


def _customer_created(database: Database[Document], event: Any) -> None:
    at = utc(event.timestamp)
    create(
        database[BILLING_ACCOUNTS],
        text(event.originator_id),
        event.originator_version,
        {
            "organization_id": text(event.organization_id),
            "provider": event.provider,
            "customer_id": event.customer_id,
            "payment_method": None,
            "created_at": at,
            "updated_at": at,
        },
    )


def _payment_method_attached(database: Database[Document], event: Any) -> None:
    change(
        database[BILLING_ACCOUNTS],
        text(event.originator_id),
        event.originator_version,
        {
            "payment_method": {
                "id": event.payment_method_id,
                "brand": event.brand,
                "last4": event.last4,
            },
            "updated_at": utc(event.timestamp),
        },
    )


PROJECTION = Projection(
    name="billing",
    collections=(INVOICES, BILLING_ACCOUNTS),
    handlers={
        event_topic(Invoice, "Drafted"): _drafted,
        event_topic(Invoice, "Refreshed"): _invoice_change(
            lambda e: {
                "lines": [dict(line) for line in e.lines],
                "total": str(e.total),
                "plan": text(e.plan),
            }
        ),
        event_topic(Invoice, "Finalized"): _invoice_change(
            lambda e: {"status": str(InvoiceStatus.FINALIZED), "finalized_at": utc(e.at)}
        ),
        event_topic(Invoice, "Paid"): _invoice_change(
            lambda e: {"status": str(InvoiceStatus.PAID), "paid_at": utc(e.at)}
        ),
        event_topic(Invoice, "Voided"): _invoice_change(
            lambda e: {
                "status": str(InvoiceStatus.VOID),
                "voided_at": utc(e.at),
                "void_reason": e.reason,
            }
        ),
        event_topic(BillingAccount, "CustomerCreated"): _customer_created,
        event_topic(BillingAccount, "PaymentMethodAttached"): _payment_method_attached,
    },
)
