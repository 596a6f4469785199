"""An organization's customer at the payment provider, and its default payment method.

Only the Owner manages billing (``MANAGE_BILLING``). The provider's customer is
created with an idempotency key derived from the organization, so a retried or
concurrent creation gets the same customer back from the provider, and the
``BillingAccount``'s derived id makes the second save a duplicate: one customer per
organization, whatever the races.
"""

from __future__ import annotations

from uuid import UUID

from pulse.domain.billing_account import BillingAccount, billing_account_id
from pulse.domain.context import CommandContext
from pulse.domain.organization import Organization
from pulse.domain.roles import Permission
from pulse.services.application import PulseApplication
from pulse.services.authorization import require, require_project
from pulse.services.errors import NotFoundError
from pulse.services.payments import PaymentProvider
from pulse.services.retries import retry_on_conflict
from pulse.services.views import View, ms


def account_view(account: BillingAccount) -> View:
    method = None
    if account.payment_method_id is not None:
        method = {
            "id": account.payment_method_id,
            "brand": account.payment_method_brand,
            "last4": account.payment_method_last4,
        }
    return {
        "id": str(account.id),
        "organization_id": str(account.organization_id),
        "provider": account.provider,
        "customer_id": account.customer_id,
        "payment_method": method,
        "created_at": ms(account.created_on),
        "updated_at": ms(account.modified_on),
    }


def customer_idempotency_key(organization_id: UUID) -> str:
    return f"pulse-customer-{organization_id}"


def _existing(app: PulseApplication, organization_id: UUID) -> BillingAccount | None:
    try:
        return app.load(billing_account_id(organization_id), BillingAccount)
    except NotFoundError:
        return None


def ensure_customer(
    app: PulseApplication,
    payments: PaymentProvider,
    organization: Organization,
    context: CommandContext,
) -> BillingAccount:
    """The organization's billing account, creating its customer at the provider first."""

    def command() -> BillingAccount:
        account = _existing(app, organization.id)
        if account is not None:
            return account
        customer_id = payments.create_customer(
            organization.id,
            organization.name,
            organization.admin_email,
            customer_idempotency_key(organization.id),
        )
        account = BillingAccount(
            organization_id=organization.id,
            provider=payments.name,
            customer_id=customer_id,
            context=context,
        )
        app.save(account)
        return account

    return retry_on_conflict(command)


def authorize_organization(app: PulseApplication, organization_id: UUID, user_id: UUID) -> None:
    require(app, organization_id, user_id, Permission.MANAGE_BILLING)


def authorize_project(app: PulseApplication, project_id: UUID, user_id: UUID) -> None:
    require_project(app, project_id, user_id, Permission.MANAGE_BILLING)


def create_customer(
    app: PulseApplication,
    payments: PaymentProvider,
    organization_id: UUID,
    user_id: UUID,
    context: CommandContext,
) -> View:
    """The organization's customer (created at the provider on the first call)."""
    membership = require(app, organization_id, user_id, Permission.MANAGE_BILLING)
    return account_view(ensure_customer(app, payments, membership.organization, context))


def integrate_project(
    app: PulseApplication,
    payments: PaymentProvider,
    project_id: UUID,
    user_id: UUID,
    context: CommandContext,
) -> View:
    """Connect the project's organization to the provider (its customer), for billing."""
    _, membership = require_project(app, project_id, user_id, Permission.MANAGE_BILLING)
    return account_view(ensure_customer(app, payments, membership.organization, context))


def attach_payment_method(
    app: PulseApplication,
    payments: PaymentProvider,
    organization_id: UUID,
    user_id: UUID,
    payment_method_id: str,
    context: CommandContext,
) -> View:
    """Attach a payment method (made by the provider's client-side SDK) as the default."""
    membership = require(app, organization_id, user_id, Permission.MANAGE_BILLING)
    account = ensure_customer(app, payments, membership.organization, context)
    method = payments.attach_payment_method(account.customer_id, payment_method_id)

    def command() -> View:
        current = app.load(account.id, BillingAccount)
        if current.attach_payment_method(method.id, method.brand, method.last4, context):
            app.save(current)
        return account_view(current)

    return retry_on_conflict(command)
