"""The Stripe customer and payment method, through the routes, against stripe-mock
(Stripe's official mock server, started by ``scripts/services.sh up``)."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from pulse.api.app import create_app
from pulse.config import Settings
from pulse.domain.billing_account import BillingAccount, billing_account_id
from pulse.projections.collections import BILLING_ACCOUNTS
from pulse.projections.store import read_model_database
from pulse.services.errors import NotFoundError
from pulse.services.payments import PaymentsUnavailableError
from pulse.services.stripe_payments import StripePayments
from tests.billing.helpers import STRIPE_MOCK_URL, STRIPE_TEST_KEY, settle
from tests.management.world import World

ROLES = ("owner", "admin", "developer", "viewer")


def events_of(world: World, aggregate_id: UUID) -> list[str]:
    return [
        type(world.app.mapper.to_domain_event(stored)).__name__
        for stored in world.app.recorder.select_events(aggregate_id)
    ]


def test_the_adapter_talks_to_stripe_mock() -> None:
    settings = Settings(
        _env_file=None,
        stripe_api_key=STRIPE_TEST_KEY,
        stripe_api_base=STRIPE_MOCK_URL,
    )
    payments = StripePayments.from_settings(settings)
    customer = payments.create_customer(uuid4(), "Acme", "ops@example.com", "key-1")
    assert customer.startswith("cus_")
    method = payments.attach_payment_method(customer, "pm_card_visa")
    assert (method.id, method.brand, method.last4) == ("pm_card_visa", "visa", "4242")


def test_without_a_key_or_a_reachable_stripe_payments_are_unavailable() -> None:
    with pytest.raises(PaymentsUnavailableError):
        StripePayments.from_settings(Settings(_env_file=None))
    with pytest.raises(PaymentsUnavailableError):
        StripePayments.from_settings(Settings(_env_file=None, stripe_api_key=""))
    unreachable = Settings(
        _env_file=None,
        stripe_api_key=STRIPE_TEST_KEY,
        stripe_api_base="http://127.0.0.1:9",  # Discard: nothing listens there.
    )
    with pytest.raises(PaymentsUnavailableError):
        StripePayments.from_settings(unreachable).create_customer(uuid4(), "A", "a@b.co", "k")


def test_the_owner_creates_one_customer_and_attaches_a_card(world: World) -> None:
    organization_id = world.new_organization_with_team()
    body = {"organization_id": str(organization_id)}
    for role in ROLES[1:]:
        refused = world.client.post(
            "/v1/billing/stripe/customer", json=body, headers=world.headers(role)
        )
        assert refused.status_code == 403, (role, refused.text)
    assert (
        world.client.post(
            "/v1/billing/stripe/customer", json=body, headers=world.headers("outsider")
        ).status_code
        == 404
    )
    with pytest.raises(NotFoundError):
        world.app.load(billing_account_id(organization_id), BillingAccount)

    created = world.client.post(
        "/v1/billing/stripe/customer", json=body, headers=world.headers("owner")
    )
    assert created.status_code == 200, created.text
    account = created.json()
    assert account["id"] == str(billing_account_id(organization_id))
    assert account["organization_id"] == str(organization_id)
    assert account["provider"] == "stripe"
    assert account["customer_id"].startswith("cus_")
    assert account["payment_method"] is None
    again = world.client.post(
        "/v1/billing/stripe/customer", json=body, headers=world.headers("owner")
    )
    assert again.json() == account
    assert events_of(world, UUID(account["id"])) == ["CustomerCreated"]

    card = {"organization_id": str(organization_id), "payment_method_id": "pm_card_visa"}
    for role in ROLES[1:]:
        refused = world.client.post(
            "/v1/billing/stripe/payment-method", json=card, headers=world.headers(role)
        )
        assert refused.status_code == 403, role
    attached = world.client.post(
        "/v1/billing/stripe/payment-method", json=card, headers=world.headers("owner")
    )
    assert attached.status_code == 200, attached.text
    assert attached.json()["payment_method"] == {
        "id": "pm_card_visa",
        "brand": "visa",
        "last4": "4242",
    }
    assert attached.json()["customer_id"] == account["customer_id"]
    assert events_of(world, UUID(account["id"])) == ["CustomerCreated", "PaymentMethodAttached"]

    settle(world)
    stored = read_model_database(world.app)[BILLING_ACCOUNTS].find_one({"_id": account["id"]})
    assert stored is not None
    assert stored["customer_id"] == account["customer_id"]
    assert stored["payment_method"] == {"id": "pm_card_visa", "brand": "visa", "last4": "4242"}


def test_integrating_a_project_connects_its_organization(world: World) -> None:
    organization_id = world.new_organization_with_team()
    project_id = world.new_project(organization_id)
    path = f"/v1/billing/{project_id}/stripe/integrate"
    for role in ROLES[1:]:
        assert world.client.post(path, headers=world.headers(role)).status_code == 403, role
    assert world.client.post(path, headers=world.headers("outsider")).status_code == 404
    integrated = world.client.post(path, headers=world.headers("owner"))
    assert integrated.status_code == 200, integrated.text
    assert integrated.json()["organization_id"] == str(organization_id)
    assert integrated.json()["customer_id"].startswith("cus_")
    # A payment method for an organization without a customer creates the customer first.
    other = world.new_organization_with_team()
    attached = world.client.post(
        "/v1/billing/stripe/payment-method",
        json={"organization_id": str(other), "payment_method_id": "pm_card_visa"},
        headers=world.headers("owner"),
    )
    assert attached.status_code == 200, attached.text
    assert attached.json()["customer_id"].startswith("cus_")


def test_a_server_without_stripe_answers_503(world: World) -> None:
    organization_id = world.new_organization_with_team()
    project_id = world.new_project(organization_id)
    for overrides in (
        {"stripe_api_key": None},
        {"stripe_api_base": "http://127.0.0.1:9"},  # Configured, but Stripe is unreachable.
    ):
        settings = world.settings.model_copy(update=overrides)
        with TestClient(create_app(settings)) as client:
            for path, body in (
                ("/v1/billing/stripe/customer", {"organization_id": str(organization_id)}),
                (f"/v1/billing/{project_id}/stripe/integrate", None),
            ):
                response = client.post(path, json=body, headers=world.headers("owner"))
                assert response.status_code == 503, (overrides, path, response.text)
                assert response.headers["content-type"] == "application/problem+json"
            # Who may act is still checked first.
            refused = client.post(
                "/v1/billing/stripe/customer",
                json={"organization_id": str(organization_id)},
                headers=world.headers("viewer"),
            )
            assert refused.status_code == 403


def test_a_refused_payment_method_is_422(world: World) -> None:
    organization_id = world.new_organization_with_team()
    response = world.client.post(
        "/v1/billing/stripe/payment-method",
        json={"organization_id": str(organization_id), "payment_method_id": "not a pm/../x"},
        headers=world.headers("owner"),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
