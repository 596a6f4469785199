"""Every management route, called by every role: it succeeds or answers 403, as the
product plan's role matrix (section 5.1) says. The expectations below are written out
independently of ``pulse.domain.roles`` so that a wrong table in the code fails here.

Owner: billing, team, projects, API keys, organization, delete organization.
Admin: team, projects, API keys, webhooks.  Developer: projects, API keys.
Viewer: read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from pulse.domain.metering import period_of, previous_period
from pulse.domain.roles import Role
from pulse.domain.webhook_delivery import WebhookDelivery
from pulse.services import invoices, webhook_endpoints
from pulse.services.clock import utc_now
from pulse.services.webhook_secrets import WebhookSecrets
from tests.management.world import SETUP, World

ALL = frozenset({"owner", "admin", "developer", "viewer"})
TEAM = frozenset({"owner", "admin"})
BUILDERS = frozenset({"owner", "admin", "developer"})
OWNER = frozenset({"owner"})


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    # Builds the path (and creates any throwaway target) for one call.
    path: Callable[[World], str]
    allowed: frozenset[str]
    body: dict[str, Any] | None = None
    success: int = 200


def org(world: World) -> str:
    return f"/v1/organizations/{world.organization_a}"


def project(world: World) -> str:
    return f"/v1/projects/{world.project_a}"


def fresh_project(world: World) -> str:
    return f"/v1/projects/{world.new_project()}"


def fresh_key(world: World) -> str:
    # A project of its own: projects have at most 10 working keys.
    project_id = world.new_project()
    return f"/v1/projects/{project_id}/keys/{world.new_key(project_id)}"


def fresh_endpoint(world: World) -> str:
    issued = webhook_endpoints.create_endpoint(
        world.app,
        WebhookSecrets(world.settings),
        world.project_a,
        world.user_ids["owner"],
        {"url": "https://8.8.8.8/hook"},
        SETUP,
    )
    return f"{project(world)}/webhooks/endpoints/{issued.endpoint['id']}"


def fresh_failed_delivery(world: World) -> str:
    """A delivery to a fresh endpoint whose only attempt failed (so it may be resent)."""
    endpoint_id = UUID(fresh_endpoint(world).rsplit("/", 1)[1])
    now = datetime.now(UTC)
    delivery = WebhookDelivery(
        event_id=uuid4(),
        endpoint_id=endpoint_id,
        project_id=world.project_a,
        event_type="project.updated",
        payload={},
        occurred_at=now,
        first_attempt_at=now,
        context=SETUP,
    )
    attempt = delivery.claim(now, now + timedelta(seconds=10), SETUP)
    delivery.fail_attempt(attempt, now, 500, "answered 500", 1.0, None, None, SETUP)
    world.app.save(delivery)
    return f"{project(world)}/webhooks/deliveries/{delivery.id}"


def fresh_invoice(world: World) -> str:
    """A draft invoice of this month for a fresh project of organization A."""
    now = utc_now()
    generated = invoices.generate_invoice(
        world.app, world.new_project(), world.user_ids["owner"], period_of(now), now, SETUP
    )
    return f"/v1/billing/invoice/{generated.invoice.id}"


def fresh_member(world: World) -> str:
    return f"{org(world)}/members/{world.add_member(world.organization_a, Role.VIEWER)}"


CASES = [
    Case("get organization", "GET", org, ALL),
    Case("rename organization", "PUT", org, OWNER, {"name": "Acme Alpha"}),
    Case("change plan", "PUT", org, OWNER, {"plan": "free"}),
    Case(
        "delete organization",
        "DELETE",
        lambda w: f"/v1/organizations/{w.new_organization_with_team()}",
        OWNER,
        success=204,
    ),
    Case("list members", "GET", lambda w: f"{org(w)}/members", ALL),
    Case(
        "invite member",
        "POST",
        lambda w: f"{org(w)}/members",
        TEAM,
        {"email": "new.person@example.com", "role": "viewer"},
        201,
    ),
    Case("get member", "GET", lambda w: f"{org(w)}/members/{w.user_ids['viewer']}", ALL),
    Case("remove member", "DELETE", fresh_member, TEAM, success=204),
    Case(
        "change member role",
        "PUT",
        lambda w: f"{fresh_member(w)}/role",
        TEAM,
        {"role": "developer"},
    ),
    Case("list invitations", "GET", lambda w: f"{org(w)}/invitations", TEAM),
    Case(
        "get invitation",
        "GET",
        lambda w: f"{org(w)}/invitations/{w.new_invitation()}",
        TEAM,
    ),
    Case(
        "revoke invitation",
        "DELETE",
        lambda w: f"{org(w)}/invitations/{w.new_invitation()}",
        TEAM,
    ),
    Case(
        "create project",
        "POST",
        lambda w: "/v1/projects",
        BUILDERS,
        None,  # Filled in per call: needs the organization id.
        201,
    ),
    Case("list projects", "GET", lambda w: f"/v1/projects?organization_id={w.organization_a}", ALL),
    Case("get project", "GET", project, ALL),
    Case("update project", "PUT", project, BUILDERS, {"name": "alpha-app"}),
    Case("delete project", "DELETE", fresh_project, BUILDERS, success=204),
    Case(
        "regenerate keys",
        "POST",
        lambda w: f"{fresh_project(w)}/regenerate-keys",
        BUILDERS,
    ),
    Case("create key", "POST", lambda w: f"{fresh_project(w)}/keys", BUILDERS, {"name": "ci"}, 201),
    Case("list keys", "GET", lambda w: f"{project(w)}/keys", BUILDERS),
    Case("get key", "GET", fresh_key, BUILDERS),
    Case("revoke key", "DELETE", fresh_key, BUILDERS),
    Case("rotate key", "POST", lambda w: f"{fresh_key(w)}/rotate", BUILDERS, {"grace_seconds": 0}),
    Case(
        "create webhook endpoint",
        "POST",
        lambda w: f"{project(w)}/webhooks/endpoints",
        TEAM,
        {"url": "https://8.8.8.8/hook"},  # A literal public address: nothing resolved.
        201,
    ),
    Case("list webhook endpoints", "GET", lambda w: f"{project(w)}/webhooks/endpoints", ALL),
    Case("get webhook endpoint", "GET", fresh_endpoint, ALL),
    Case("update webhook endpoint", "PATCH", fresh_endpoint, TEAM, {"description": "x"}),
    Case("delete webhook endpoint", "DELETE", fresh_endpoint, TEAM, success=204),
    Case("disable webhook endpoint", "POST", lambda w: f"{fresh_endpoint(w)}/disable", TEAM),
    Case("enable webhook endpoint", "POST", lambda w: f"{fresh_endpoint(w)}/enable", TEAM),
    Case(
        "rotate webhook secret",
        "POST",
        lambda w: f"{fresh_endpoint(w)}/rotate-secret",
        TEAM,
        {"grace_seconds": 0},
    ),
    Case("list webhook deliveries", "GET", lambda w: f"{fresh_endpoint(w)}/deliveries", ALL),
    Case("webhook endpoint stats", "GET", lambda w: f"{fresh_endpoint(w)}/stats", ALL),
    Case("get webhook delivery", "GET", fresh_failed_delivery, ALL),
    Case("resend webhook delivery", "POST", lambda w: f"{fresh_failed_delivery(w)}/resend", TEAM),
    Case(
        "replay webhook endpoint",
        "POST",
        lambda w: f"{fresh_endpoint(w)}/replay",
        TEAM,
        {"since": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()},
    ),
    Case("get usage", "GET", lambda w: f"/v1/usage/{w.project_a}?granularity=day", ALL),
    Case("usage summary", "GET", lambda w: f"/v1/usage/{w.project_a}/summary", ALL),
    Case(
        "aggregated usage",
        "GET",
        lambda w: f"/v1/usage/{w.project_a}/aggregated?granularity=week",
        ALL,
    ),
    Case("list usage alerts", "GET", lambda w: f"/v1/usage/{w.project_a}/alerts", ALL),
    Case("check usage limits", "POST", lambda w: f"/v1/usage/{w.project_a}/check-limits", ALL),
    Case("audit log", "GET", lambda w: f"/v1/audit-logs?organization_id={w.organization_a}", ALL),
    Case(
        "export audit log",
        "GET",
        lambda w: f"/v1/audit-logs/export?organization_id={w.organization_a}",
        ALL,
    ),
    Case(
        "audit log stats",
        "GET",
        lambda w: f"/v1/audit-logs/stats?organization_id={w.organization_a}",
        ALL,
    ),
    Case(
        "recent audit log",
        "GET",
        lambda w: f"/v1/audit-logs/recent?organization_id={w.organization_a}",
        ALL,
    ),
    Case("billing dashboard", "GET", lambda w: f"/v1/billing/{w.project_a}/dashboard", ALL),
    Case("list invoices", "GET", lambda w: f"/v1/billing/{w.project_a}/invoices", ALL),
    Case("get invoice", "GET", fresh_invoice, ALL),
    Case(
        "generate invoice",
        "POST",
        lambda w: f"/v1/billing/{w.project_a}/invoice",
        OWNER,
        {"period": previous_period(datetime.now(UTC))},
    ),
    Case(
        "update invoice status",
        "PUT",
        lambda w: f"{fresh_invoice(w)}/status",
        OWNER,
        {"status": "finalized"},
    ),
    # The Stripe routes need stripe-mock (scripts/services.sh) and the world's settings
    # pointing at it (management_settings: stripe_api_key/stripe_api_base).
    Case(
        "stripe integrate", "POST", lambda w: f"/v1/billing/{w.project_a}/stripe/integrate", OWNER
    ),
    Case(
        "stripe customer",
        "POST",
        lambda w: "/v1/billing/stripe/customer",
        OWNER,
        None,  # Filled in per call: needs the organization id.
    ),
    Case(
        "stripe payment method",
        "POST",
        lambda w: "/v1/billing/stripe/payment-method",
        OWNER,
        None,  # Filled in per call: needs the organization id.
    ),
]


@pytest.mark.parametrize("role", sorted(ALL))
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_role_succeeds_or_is_forbidden_as_the_matrix_says(
    world: World, case: Case, role: str
) -> None:
    body = case.body
    if case.name == "create project":
        body = {"organization_id": str(world.organization_a), "name": "made-by-" + role}
    elif case.name == "stripe customer":
        body = {"organization_id": str(world.organization_a)}
    elif case.name == "stripe payment method":
        body = {"organization_id": str(world.organization_a), "payment_method_id": "pm_card_visa"}
    response = world.client.request(
        case.method, case.path(world), json=body, headers=world.headers(role)
    )
    if role in case.allowed:
        assert response.status_code == case.success, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 403


def test_routes_outside_organizations_are_open_to_any_signed_in_user(world: World) -> None:
    for who in ("viewer", "outsider"):
        created = world.client.post(
            "/v1/organizations",
            json={"name": f"{who}'s own", "admin_email": "me@example.com"},
            headers=world.headers(who),
        )
        assert created.status_code == 201, created.text
        assert created.headers["location"] == f"/v1/organizations/{created.json()['id']}"
        assert world.client.get("/v1/organizations", headers=world.headers(who)).status_code == 200


def test_every_management_route_needs_a_signed_in_user(world: World) -> None:
    paths = {
        ("GET", org(world)),
        ("GET", "/v1/organizations"),
        ("POST", "/v1/organizations"),
        ("GET", "/v1/projects"),
        ("GET", project(world)),
        ("GET", f"{project(world)}/keys"),
        ("GET", f"{org(world)}/members"),
        ("GET", f"{org(world)}/invitations"),
        ("POST", "/v1/invitations/accept"),
    }
    for method, path in paths:
        response = world.client.request(method, path, json={})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_team_rules_beyond_the_matrix(world: World) -> None:
    """Admins manage the team but not Owners; the last Owner can neither leave nor be
    demoted; anyone may leave."""
    team = world.new_organization_with_team()
    owner_id, admin_id = world.user_ids["owner"], world.user_ids["admin"]
    members = f"/v1/organizations/{team}/members"

    as_admin = world.headers("admin")
    assert (
        world.client.put(
            f"{members}/{owner_id}/role", json={"role": "viewer"}, headers=as_admin
        ).status_code
        == 403
    )
    assert world.client.delete(f"{members}/{owner_id}", headers=as_admin).status_code == 403
    assert (
        world.client.post(
            members, json={"email": "boss@example.com", "role": "owner"}, headers=as_admin
        ).status_code
        == 403
    )

    as_owner = world.headers("owner")
    demoted = world.client.put(
        f"{members}/{owner_id}/role", json={"role": "admin"}, headers=as_owner
    )
    assert demoted.status_code == 409, demoted.text
    assert "at least one Owner" in demoted.json()["detail"]
    assert world.client.delete(f"{members}/{owner_id}", headers=as_owner).status_code == 409

    # With a second Owner, the first may step down; then the new Owner is the last one.
    promoted = world.client.put(
        f"{members}/{admin_id}/role", json={"role": "owner"}, headers=as_owner
    )
    assert promoted.status_code == 200, promoted.text
    assert world.client.delete(f"{members}/{owner_id}", headers=as_owner).status_code == 204
    assert world.client.get(f"/v1/organizations/{team}", headers=as_owner).status_code == 404
    assert (
        world.client.delete(f"{members}/{admin_id}", headers=world.headers("admin")).status_code
        == 409
    )

    # A viewer may leave on their own.
    viewer_id = world.user_ids["viewer"]
    assert (
        world.client.delete(f"{members}/{viewer_id}", headers=world.headers("viewer")).status_code
        == 204
    )
