"""The billing routes over HTTP: exact invoices from known usage, the lifecycle, roles,
isolation, the dashboard and the invoice list."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from pulse.domain.invoice import invoice_id
from pulse.domain.metering import Meter, period_bounds, period_of
from pulse.domain.plans import Plan, terms_of
from pulse.domain.pricing import price_usage
from pulse.projections import billing
from pulse.projections.collections import BILLING_ACCOUNTS, INVOICES
from pulse.projections.runner import catch_up, rebuild
from pulse.projections.store import read_model_database
from pulse.services.billing_dashboard import elapsed_share, project_usage
from tests.billing.helpers import (
    period_before,
    pro_team_project,
    record_usage,
    set_plan,
    settle,
)
from tests.management.world import World

USAGE = {
    Meter.PARTICIPANT_MINUTES: 12_345_678,
    Meter.EGRESS_MINUTES: 3_600_000,
    Meter.INGRESS_MINUTES: 1_000_000,
    Meter.STORAGE_GB: 2_500_000_000,
    Meter.BANDWIDTH_GB: 123_456_789_012,
    Meter.API_REQUESTS: 1_234_567,
}
LAST_MONTH = period_before(datetime.now(UTC))
ROLES = ("owner", "admin", "developer", "viewer")


def generate(world: World, who: str, project_id: UUID, period: str = LAST_MONTH) -> Any:
    return world.client.post(
        f"/v1/billing/{project_id}/invoice", json={"period": period}, headers=world.headers(who)
    )


def set_status(world: World, who: str, invoice: str, status: str) -> Any:
    return world.client.put(
        f"/v1/billing/invoice/{invoice}/status", json={"status": status}, headers=world.headers(who)
    )


def stored_events(world: World, aggregate_id: UUID) -> list[str]:
    return [
        type(world.app.mapper.to_domain_event(stored)).__name__
        for stored in world.app.recorder.select_events(aggregate_id)
    ]


def test_a_period_is_priced_under_the_plan_in_effect_at_its_end(world: World) -> None:
    # Free all last month, upgraded to Pro now: last month stays a Free invoice (as
    # `pulse billing recompute` prices it), this month's draft is a Pro one.
    organization_id = world.new_organization_with_team()
    project_id = world.new_project(organization_id)
    set_plan(world, organization_id, Plan.PRO)
    this_month = period_of(datetime.now(UTC))
    record_usage(world, project_id, LAST_MONTH, USAGE)
    record_usage(world, project_id, this_month, USAGE)

    past = generate(world, "owner", project_id).json()
    running = generate(world, "owner", project_id, this_month).json()

    assert (past["plan"], past["total"], past["lines"]) == ("free", "0.00", [])
    assert (running["plan"], running["total"]) == ("pro", "58.19")


def test_generating_prices_the_usage_exactly_and_once(world: World) -> None:
    organization_id, project_id = pro_team_project(world)
    record_usage(world, project_id, LAST_MONTH, USAGE)

    response = generate(world, "owner", project_id)
    assert response.status_code == 200, response.text
    invoice = response.json()
    assert invoice["id"] == str(invoice_id(project_id, LAST_MONTH))
    assert (invoice["project_id"], invoice["organization_id"]) == (
        str(project_id),
        str(organization_id),
    )
    assert (invoice["period"], invoice["plan"], invoice["status"], invoice["currency"]) == (
        LAST_MONTH,
        "pro",
        "draft",
        "USD",
    )
    assert [
        (li["item"], li["quantity"], li["raw_quantity"], li["amount"]) for li in invoice["lines"]
    ] == [
        ("base_fee", "1", 1, "49.00"),
        ("participant_minutes", "205.761", 12_345_678, "0.82"),
        ("egress_minutes", "60.000", 3_600_000, "0.72"),
        ("storage_gb", "2.500", 2_500_000_000, "0.25"),
        ("bandwidth_gb", "123.457", 123_456_789_012, "6.17"),
        ("api_requests", "1234567.000", 1_234_567, "1.23"),
    ]
    assert invoice["lines"][5]["unit_price"] == "0.001"
    assert invoice["lines"][5]["per"] == 1000
    assert invoice["total"] == "58.19"
    assert sum(Decimal(li["amount"]) for li in invoice["lines"]) == Decimal("58.19")
    assert invoice["finalized_at"] is None
    assert invoice["created_at"]

    # Again, and read back: the same invoice, nothing recorded a second time.
    again = generate(world, "owner", project_id)
    assert again.json() == invoice
    fetched = world.client.get(
        f"/v1/billing/invoice/{invoice['id']}", headers=world.headers("viewer")
    )
    assert fetched.status_code == 200
    assert fetched.json() == invoice
    assert stored_events(world, UUID(invoice["id"])) == ["Drafted"]

    # Late usage refreshes the draft.
    record_usage(world, project_id, LAST_MONTH, {**USAGE, Meter.EGRESS_MINUTES: 7_200_000})
    refreshed = generate(world, "owner", project_id).json()
    assert refreshed["total"] == "58.91"
    assert stored_events(world, UUID(invoice["id"])) == ["Drafted", "Refreshed"]


def test_the_status_lifecycle_over_http(world: World) -> None:
    _, project_id = pro_team_project(world)
    record_usage(world, project_id, LAST_MONTH, {Meter.PARTICIPANT_MINUTES: 60_000})
    invoice = generate(world, "owner", project_id).json()
    assert invoice["total"] == "49.00"  # 1 minute x 0.004 = 0.004 -> 0.00

    finalized = set_status(world, "owner", invoice["id"], "finalized")
    assert finalized.status_code == 200, finalized.text
    assert finalized.json()["status"] == "finalized"
    assert finalized.json()["finalized_at"]
    # A finalized invoice is frozen: new usage and a new generation leave it alone.
    record_usage(world, project_id, LAST_MONTH, {Meter.PARTICIPANT_MINUTES: 6_000_000})
    assert generate(world, "owner", project_id).json() == finalized.json()

    assert set_status(world, "owner", invoice["id"], "draft").status_code == 422
    paid = set_status(world, "owner", invoice["id"], "paid")
    assert paid.status_code == 200
    assert paid.json()["paid_at"]
    refused = set_status(world, "owner", invoice["id"], "void")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert "paid invoice cannot become void" in refused.json()["detail"]
    assert set_status(world, "owner", invoice["id"], "finalized").status_code == 409
    # The status it already has: no change, no error.
    assert set_status(world, "owner", invoice["id"], "paid").json() == paid.json()

    # A draft cannot be paid; it can be voided, and a void invoice is final.
    other = generate(world, "owner", project_id, period_of(datetime.now(UTC))).json()
    assert set_status(world, "owner", other["id"], "paid").status_code == 409
    voided = world.client.put(
        f"/v1/billing/invoice/{other['id']}/status",
        json={"status": "void", "reason": "duplicate"},
        headers=world.headers("owner"),
    )
    assert voided.status_code == 200
    assert voided.json()["voided_at"]
    assert set_status(world, "owner", other["id"], "finalized").status_code == 409


@pytest.mark.parametrize("period", ["2999-01", "2026-13", "2026-1", "last month"])
def test_a_future_or_malformed_period_is_refused(world: World, period: str) -> None:
    response = generate(world, "owner", world.project_a, period)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_the_owner_manages_and_every_role_reads(world: World) -> None:
    _, project_id = pro_team_project(world)
    created = generate(world, "owner", project_id).json()
    settle(world)
    for role in ROLES:
        headers = world.headers(role)
        for path in (
            f"/v1/billing/{project_id}/dashboard",
            f"/v1/billing/{project_id}/invoices",
            f"/v1/billing/invoice/{created['id']}",
        ):
            assert world.client.get(path, headers=headers).status_code == 200, (role, path)
        writes = (
            generate(world, role, project_id),
            set_status(world, role, created["id"], "finalized"),
        )
        for response in writes:
            expected = 200 if role == "owner" else 403
            assert response.status_code == expected, (role, response.text)


def test_another_organizations_billing_does_not_exist(world: World) -> None:
    # The outsider owns organization B: its invoice exists, and A's members see none of it.
    outsider_project = world.project_b
    foreign = generate(world, "outsider", outsider_project)
    assert foreign.status_code == 200, foreign.text
    theirs = foreign.json()
    _, project_id = pro_team_project(world)
    mine = generate(world, "owner", project_id).json()
    for role in ROLES:
        headers = world.headers(role)
        for path in (
            f"/v1/billing/{outsider_project}/dashboard",
            f"/v1/billing/{outsider_project}/invoices",
            f"/v1/billing/invoice/{theirs['id']}",
        ):
            assert world.client.get(path, headers=headers).status_code == 404, (role, path)
        assert generate(world, role, outsider_project).status_code == 404
        assert set_status(world, role, theirs["id"], "void").status_code == 404
    for path in (
        f"/v1/billing/{project_id}/dashboard",
        f"/v1/billing/{project_id}/invoices",
        f"/v1/billing/invoice/{mine['id']}",
    ):
        response = world.client.get(path, headers=world.headers("outsider"))
        assert response.status_code == 404, path
    assert set_status(world, "outsider", mine["id"], "void").status_code == 404
    missing = world.client.get(
        f"/v1/billing/invoice/{invoice_id(project_id, '1999-01')}", headers=world.headers("owner")
    )
    assert missing.status_code == 404


def test_the_list_and_the_dashboard(world: World) -> None:
    _, project_id = pro_team_project(world)
    now = datetime.now(UTC)
    this_month = period_of(now)
    record_usage(world, project_id, LAST_MONTH, USAGE)
    current = {Meter.PARTICIPANT_MINUTES: 30_000_000, Meter.API_REQUESTS: 5_000}
    record_usage(world, project_id, this_month, current)
    older = generate(world, "owner", project_id).json()
    newer = generate(world, "owner", project_id, this_month).json()
    settle(world)

    listed = world.client.get(f"/v1/billing/{project_id}/invoices", headers=world.headers("viewer"))
    page = listed.json()
    assert page["total"] == 2
    assert page["next_cursor"] is None
    assert page["items"] == [older, newer]  # The read model shows what the command answered.
    first = world.client.get(
        f"/v1/billing/{project_id}/invoices?limit=1", headers=world.headers("viewer")
    ).json()
    assert first["items"] == [older]
    assert first["next_cursor"]
    rest = world.client.get(
        f"/v1/billing/{project_id}/invoices?limit=1&cursor={first['next_cursor']}",
        headers=world.headers("viewer"),
    ).json()
    assert rest["items"] == [newer]
    set_status(world, "owner", older["id"], "finalized")
    settle(world)
    drafts = world.client.get(
        f"/v1/billing/{project_id}/invoices?status=draft", headers=world.headers("viewer")
    ).json()
    assert [item["id"] for item in drafts["items"]] == [newer["id"]]

    board = world.client.get(f"/v1/billing/{project_id}/dashboard", headers=world.headers("viewer"))
    assert board.status_code == 200, board.text
    body = board.json()
    assert body["period"] == this_month
    assert body["plan"] == "pro"
    assert body["currency"] == "USD"
    assert body["month_to_date"]["usage"]["participant_ms"] == 30_000_000
    assert body["month_to_date"]["usage"]["participant_minutes"] == "500.000"
    # 500 minutes x 0.004 = 2.00; 5 thousand requests x 0.001 = 0.005 -> 0.01.
    assert body["month_to_date"]["total"] == "51.01"
    assert body["month_to_date"]["lines"] == newer["lines"]
    as_of = datetime.fromisoformat(body["as_of"])
    start, end = period_bounds(this_month)
    projected = project_usage(current, elapsed_share(as_of, start, end))
    assert body["projection"]["usage"]["participant_ms"] == projected[Meter.PARTICIPANT_MINUTES]
    expected = price_usage(terms_of(Plan.PRO), projected)
    assert body["projection"]["lines"] == [line.as_dict() for line in expected]
    assert body["projection"]["lines"][0]["amount"] == "49.00"  # The base fee, not scaled.
    assert [invoice["id"] for invoice in body["recent_invoices"]] == [newer["id"], older["id"]]
    assert body["recent_invoices"][1]["status"] == "finalized"


def test_the_billing_read_models_rebuild_identically(world: World) -> None:
    _, project_id = pro_team_project(world)
    record_usage(world, project_id, LAST_MONTH, USAGE)
    made = generate(world, "owner", project_id).json()
    record_usage(world, project_id, LAST_MONTH, {**USAGE, Meter.API_REQUESTS: 9_999_999})
    generate(world, "owner", project_id)
    set_status(world, "owner", made["id"], "finalized")
    settle(world)
    database = read_model_database(world.app)

    def snapshot() -> list[dict[str, Any]]:
        return [
            *database[INVOICES].find({}).sort("_id", 1),
            *database[BILLING_ACCOUNTS].find({}).sort("_id", 1),
        ]

    before = snapshot()
    assert any(document["_id"] == made["id"] for document in before)
    rebuild(billing.PROJECTION, world.app, database, world.settings)
    assert snapshot() == before
    # Replaying the log again (a restarted runner) changes nothing either.
    catch_up(billing.PROJECTION, world.app, database, world.settings)
    assert snapshot() == before
