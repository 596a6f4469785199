"""BillingAccount: an organization's customer record at the payment provider.

One per organization (the id is derived from the organization's), created when the
provider has created the customer; Pulse keeps the provider's ids and the shown
details of the default payment method (brand, last four digits), never card data.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext

_BILLING_ACCOUNT_NAMESPACE = UUID("c2a94e1d-7b3f-4e05-8d61-f09b4a2e6c38")


def billing_account_id(organization_id: UUID) -> UUID:
    return uuid5(_BILLING_ACCOUNT_NAMESPACE, str(organization_id))


class BillingAccount(Aggregate):
    @staticmethod
    def create_id(organization_id: UUID) -> UUID:
        return billing_account_id(organization_id)

    @event("CustomerCreated")
    def __init__(
        self, organization_id: UUID, provider: str, customer_id: str, context: CommandContext
    ) -> None:
        self.organization_id = organization_id
        self.provider = provider
        self.customer_id = customer_id
        self.payment_method_id: str | None = None
        self.payment_method_brand: str | None = None
        self.payment_method_last4: str | None = None

    def attach_payment_method(
        self, payment_method_id: str, brand: str, last4: str, context: CommandContext
    ) -> bool:
        """Record the new default payment method; False if it already is the default."""
        if (payment_method_id, brand, last4) == (
            self.payment_method_id,
            self.payment_method_brand,
            self.payment_method_last4,
        ):
            return False
        self._payment_method_attached(
            payment_method_id=payment_method_id, brand=brand, last4=last4, context=context
        )
        return True

    @event("PaymentMethodAttached")
    def _payment_method_attached(
        self, payment_method_id: str, brand: str, last4: str, context: CommandContext
    ) -> None:
        self.payment_method_id = payment_method_id
        self.payment_method_brand = brand
        self.payment_method_last4 = last4
