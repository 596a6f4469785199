"""Billing: a project's dashboard and invoices, invoice status, and the Stripe customer
and payment method of an organization.

Reads need ``VIEW_USAGE`` (every role); generating, changing a status and anything
at Stripe need ``MANAGE_BILLING`` (the Owner). Non-members get 404.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any, Literal, ParamSpec, TypeVar
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request

from pulse.api.auth import CurrentUser, command_context
from pulse.api.billing_schemas import (
    BillingAccountOut,
    DashboardOut,
    InvoiceGenerate,
    InvoiceOut,
    InvoiceStatusUpdate,
    PaymentMethodCreate,
    StripeCustomerCreate,
)
from pulse.api.commands import run_command, run_query
from pulse.api.dependencies import ClientsDep, PulseDep, SettingsDep
from pulse.api.management_schemas import Page
from pulse.api.openapi import problem_responses
from pulse.api.pagination import Cursor, Limit, from_document, page_of
from pulse.api.problems import Problem
from pulse.config import Settings
from pulse.domain.invoice import InvoiceStatus
from pulse.domain.roles import Permission
from pulse.queries.invoices import list_invoices
from pulse.services import billing_accounts, billing_dashboard, invoices
from pulse.services.clock import utc_now
from pulse.services.payments import PaymentProvider, PaymentsUnavailableError
from pulse.services.stripe_payments import StripePayments

router = APIRouter(tags=["billing"])

_READ = problem_responses((401, Problem), (404, Problem))
_WRITE = problem_responses((401, Problem), (403, Problem), (404, Problem), (409, Problem))
_STRIPE = problem_responses(
    (401, Problem), (403, Problem), (404, Problem), (409, Problem), (503, Problem)
)

P = ParamSpec("P")
T = TypeVar("T")


def _payments(settings: Settings) -> PaymentProvider:
    try:
        return StripePayments.from_settings(settings)
    except PaymentsUnavailableError as error:
        raise HTTPException(HTTPStatus.SERVICE_UNAVAILABLE, str(error)) from None


async def _at_provider(
    request: Request, command: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """A command that calls the payment provider: its outages are 503 problems."""
    try:
        return await run_command(request, command, *args, **kwargs)
    except PaymentsUnavailableError as error:
        raise HTTPException(HTTPStatus.SERVICE_UNAVAILABLE, str(error)) from None


# -- literal paths first: /v1/billing/{project_id}/... would otherwise shadow them --------


@router.get(
    "/v1/billing/invoice/{invoice_id}",
    response_model=InvoiceOut,
    summary="One invoice (any role of its organization)",
    responses=_READ,
)
async def get_invoice(invoice_id: UUID, user: CurrentUser, app: PulseDep) -> dict[str, Any]:
    return await run_query(invoices.get_invoice, app, invoice_id, user.user_id)


@router.put(
    "/v1/billing/invoice/{invoice_id}/status",
    response_model=InvoiceOut,
    summary="Finalize, mark paid or void an invoice (Owner)",
    description="draft -> finalized -> paid, and draft or finalized -> void; any other "
    "move is refused (409). Asking for the status it already has changes nothing.",
    responses=_WRITE,
)
async def update_status(
    invoice_id: UUID,
    body: InvoiceStatusUpdate,
    user: CurrentUser,
    app: PulseDep,
    request: Request,
) -> dict[str, Any]:
    return await run_command(
        request,
        invoices.change_status,
        app,
        invoice_id,
        user.user_id,
        InvoiceStatus(body.status),
        body.reason or "",
        utc_now(),
        command_context(request, user),
    )


@router.post(
    "/v1/billing/stripe/customer",
    response_model=BillingAccountOut,
    summary="Create the organization's Stripe customer, or return it (Owner)",
    description="503 when the server has no Stripe key or Stripe cannot be reached.",
    responses=_STRIPE,
)
async def stripe_customer(
    body: StripeCustomerCreate,
    user: CurrentUser,
    app: PulseDep,
    settings: SettingsDep,
    request: Request,
) -> dict[str, Any]:
    # Who may act comes first: a non-member learns nothing, even of the configuration.
    await run_query(
        billing_accounts.authorize_organization, app, body.organization_id, user.user_id
    )
    return await _at_provider(
        request,
        billing_accounts.create_customer,
        app,
        _payments(settings),
        body.organization_id,
        user.user_id,
        command_context(request, user),
    )


@router.post(
    "/v1/billing/stripe/payment-method",
    response_model=BillingAccountOut,
    summary="Attach a Stripe payment method as the organization's default (Owner)",
    description="Creates the Stripe customer first if there is none. The payment method "
    "comes from Stripe's client-side SDKs; Pulse keeps its brand and last four digits.",
    responses=_STRIPE,
)
async def stripe_payment_method(
    body: PaymentMethodCreate,
    user: CurrentUser,
    app: PulseDep,
    settings: SettingsDep,
    request: Request,
) -> dict[str, Any]:
    await run_query(
        billing_accounts.authorize_organization, app, body.organization_id, user.user_id
    )
    return await _at_provider(
        request,
        billing_accounts.attach_payment_method,
        app,
        _payments(settings),
        body.organization_id,
        user.user_id,
        body.payment_method_id,
        command_context(request, user),
    )


# -- a project's billing ------------------------------------------------------------------


@router.get(
    "/v1/billing/{project_id}/dashboard",
    response_model=DashboardOut,
    summary="Month-to-date usage and charges, a projection to month end, recent invoices",
    description="Any role. The projection scales each meter's usage so far linearly by "
    "the elapsed share of the month; the base fee is not scaled.",
    responses=_READ,
)
async def dashboard(project_id: UUID, user: CurrentUser, app: PulseDep) -> dict[str, Any]:
    found = await run_query(billing_dashboard.dashboard, app, project_id, user.user_id, utc_now())
    found["recent_invoices"] = [from_document(d) for d in found["recent_invoices"]]
    return found


@router.post(
    "/v1/billing/{project_id}/invoice",
    response_model=InvoiceOut,
    summary="Generate (or refresh) the project's invoice of a period (Owner)",
    description="A draft is created, or refreshed with the latest usage and plan; a "
    "finalized, paid or void invoice is returned unchanged. One invoice per project "
    "and period, however often this is called. A future period is refused (422).",
    responses=_WRITE,
)
async def generate(
    project_id: UUID,
    body: InvoiceGenerate,
    user: CurrentUser,
    app: PulseDep,
    request: Request,
) -> dict[str, Any]:
    generated = await run_command(
        request,
        invoices.generate_invoice,
        app,
        project_id,
        user.user_id,
        body.period,
        utc_now(),
        command_context(request, user),
    )
    return invoices.invoice_view(generated.invoice)


@router.get(
    "/v1/billing/{project_id}/invoices",
    response_model=Page[InvoiceOut],
    summary="The project's invoices, oldest period first (any role; eventually consistent)",
    responses=_READ,
)
async def list_(
    project_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    status: Annotated[
        Literal["draft", "finalized", "paid", "void"] | None,
        Query(description="Only invoices with this status."),
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[InvoiceOut]:
    await run_query(
        invoices.authorize_project, app, project_id, user.user_id, Permission.VIEW_USAGE
    )
    found = await list_invoices(
        clients.database, str(project_id), status=status, limit=limit, cursor=cursor
    )
    return page_of(found, InvoiceOut)


@router.post(
    "/v1/billing/{project_id}/stripe/integrate",
    response_model=BillingAccountOut,
    summary="Connect the project's organization to Stripe: its customer (Owner)",
    description="Creates the organization's Stripe customer if there is none, and "
    "returns the billing account. 503 when the server has no Stripe key.",
    responses=_STRIPE,
)
async def stripe_integrate(
    project_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    settings: SettingsDep,
    request: Request,
) -> dict[str, Any]:
    await run_query(billing_accounts.authorize_project, app, project_id, user.user_id)
    return await _at_provider(
        request,
        billing_accounts.integrate_project,
        app,
        _payments(settings),
        project_id,
        user.user_id,
        command_context(request, user),
    )
