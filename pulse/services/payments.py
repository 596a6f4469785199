"""The payment-provider port: what billing needs from a provider such as Stripe.

Kept to the two calls Pulse makes today (a customer per organization, a default
payment method), so a test double or another provider is a small class. Provider
failures come back as two errors: ``PaymentsUnavailableError`` (not configured,
unreachable, refusing Pulse's credentials: 503) and ``InvalidValueError`` (the
provider refused the request itself, e.g. an unknown payment method: 422).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from pulse.services.errors import ServiceError


class PaymentsUnavailableError(ServiceError):
    """The payment provider is not configured or cannot be reached now."""


@dataclass(frozen=True)
class PaymentMethod:
    id: str
    brand: str
    """The card network (``visa``...), or the method's type when it is not a card."""
    last4: str


class PaymentProvider(Protocol):
    name: str
    """Recorded on the billing account (``stripe``)."""

    def create_customer(
        self, organization_id: UUID, name: str, email: str, idempotency_key: str
    ) -> str:
        """The provider's id of a new customer; the same key returns the same customer."""
        ...

    def attach_payment_method(self, customer_id: str, payment_method_id: str) -> PaymentMethod:
        """Attach the method to the customer and make it the default for invoices."""
        ...
