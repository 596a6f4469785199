"""The Stripe adapter of the payment-provider port (stripe-python's ``StripeClient``).

No global state: each adapter holds its own client, with the API key and base
address from the settings (``PULSE_STRIPE_API_BASE`` points tests at stripe-mock).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import stripe

from pulse.config import Settings
from pulse.domain.errors import InvalidValueError
from pulse.services.payments import PaymentMethod, PaymentsUnavailableError

# A provider call that hangs would hold a request thread: bound it.
_TIMEOUT_SECONDS = 20
_RETRIES = 2


class StripePayments:
    name = "stripe"

    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> StripePayments:
        """The adapter, or ``PaymentsUnavailableError`` when no API key is configured."""
        # An empty value (``PULSE_STRIPE_API_KEY=`` as in .env.example) is unset too.
        key = settings.stripe_api_key.get_secret_value() if settings.stripe_api_key else ""
        if not key:
            raise PaymentsUnavailableError("Payments are not configured on this server")
        base = settings.stripe_api_base
        client = stripe.StripeClient(
            key,
            base_addresses={"api": base} if base else None,
            max_network_retries=_RETRIES,
            http_client=stripe.RequestsClient(timeout=_TIMEOUT_SECONDS),
        )
        return cls(client)

    def create_customer(
        self, organization_id: UUID, name: str, email: str, idempotency_key: str
    ) -> str:
        with _stripe_errors("create the customer"):
            customer = self._client.v1.customers.create(
                params={
                    "name": name,
                    "email": email,
                    "metadata": {"pulse_organization_id": str(organization_id)},
                },
                options={"idempotency_key": idempotency_key},
            )
        return str(customer.id)

    def attach_payment_method(self, customer_id: str, payment_method_id: str) -> PaymentMethod:
        with _stripe_errors("attach the payment method"):
            method = self._client.v1.payment_methods.attach(
                payment_method_id, params={"customer": customer_id}
            )
            self._client.v1.customers.update(
                customer_id,
                params={"invoice_settings": {"default_payment_method": str(method.id)}},
            )
        return _shown(method)


def _shown(method: Any) -> PaymentMethod:
    card = getattr(method, "card", None)
    if card is not None:
        return PaymentMethod(id=str(method.id), brand=str(card.brand), last4=str(card.last4))
    return PaymentMethod(id=str(method.id), brand=str(method.type), last4="")


@contextmanager
def _stripe_errors(what: str) -> Iterator[None]:
    """Stripe's errors as the port's: refusals of the request 422, the rest 503."""
    try:
        yield
    except (stripe.InvalidRequestError, stripe.CardError) as error:
        # Stripe's message says what was wrong with the request (no secrets in it).
        message = error.user_message or str(error)
        raise InvalidValueError(f"Stripe could not {what}: {message}") from error
    except stripe.StripeError as error:
        raise PaymentsUnavailableError(f"Stripe could not {what} now") from error
