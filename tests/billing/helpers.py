"""Billing test helpers: a Pro project with known usage, read models brought up to date."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pulse.domain.metering import Meter, period_bounds
from pulse.domain.organization import Organization
from pulse.domain.plans import Plan
from pulse.projections import billing
from pulse.projections.collections import USAGE_BUCKETS
from pulse.projections.registry import PROJECTIONS
from pulse.projections.runner import catch_up
from pulse.projections.store import read_model_database
from tests.management.world import SETUP, World

STRIPE_MOCK_URL = "http://127.0.0.1:12111"
STRIPE_TEST_KEY = "sk_test_123"


def settle(world: World) -> None:
    """Every read model up to date, billing's too (if it is not registered yet)."""
    world.settle()
    if billing.PROJECTION not in PROJECTIONS:
        catch_up(billing.PROJECTION, world.app, read_model_database(world.app), world.settings)


def set_plan(world: World, organization_id: UUID, plan: Plan) -> None:
    organization = world.app.load(organization_id, Organization)
    organization.update({"plan": str(plan)}, SETUP)
    world.app.save(organization)


def pro_team_project(world: World) -> tuple[UUID, UUID]:
    """A new organization on the Pro plan (one member per role) and a project in it.

    Created on Pro, not upgraded: an invoice of a past period is priced under the
    plan at that period's end, and an upgrade now comes after it."""
    organization_id = world.new_organization_with_team(Plan.PRO)
    return organization_id, world.new_project(organization_id)


def record_usage(world: World, project_id: UUID, period: str, usage: dict[Meter, int]) -> None:
    """The month bucket the usage projection keeps, written as it would write it."""
    start, _ = period_bounds(period)
    document: dict[str, Any] = {
        "_id": f"{project_id}:month:{start:%Y-%m-%dT%H}",
        "project_id": str(project_id),
        "granularity": "month",
        "start": start,
        "period": period,
        **{meter.raw_field: 0 for meter in Meter},
        **{meter.raw_field: quantity for meter, quantity in usage.items()},
        "applied_through": 0,
    }
    read_model_database(world.app)[USAGE_BUCKETS].replace_one(
        {"_id": document["_id"]}, document, upsert=True
    )


def period_before(moment: datetime) -> str:
    year, month = (moment.year, moment.month - 1) if moment.month > 1 else (moment.year - 1, 12)
    return f"{year:04d}-{month:02d}"
