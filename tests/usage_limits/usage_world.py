"""Helpers: an organization and project saved as the services would, and usage put
straight into the usage read model's month bucket (the shape the usage projection
writes: ``_id = "<project>:month:<YYYY-MM-01T00>"``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from pymongo.database import Database

from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.metering import RAW_FIELDS, Meter, month_of, period_of
from pulse.domain.organization import Organization
from pulse.domain.participant_session import ParticipantSession
from pulse.domain.plans import Plan
from pulse.domain.project import Project
from pulse.domain.room import ClosedBy
from pulse.projections.collections import USAGE_BUCKETS
from pulse.services.application import PulseApplication

SETUP = CommandContext(ActorKind.SYSTEM, "test-setup")
MINUTE = 60_000


def new_organization(app: PulseApplication, plan: Plan = Plan.FREE) -> Organization:
    organization = Organization(
        name=f"org-{uuid.uuid4().hex[:6]}",
        admin_email="ops@example.com",
        plan=str(plan),
        creator_id=uuid.uuid4(),
        context=SETUP,
    )
    app.save(organization)
    return organization


def new_project(app: PulseApplication, organization_id: UUID) -> Project:
    project = Project(
        organization_id=organization_id,
        name=f"p-{uuid.uuid4().hex[:6]}",
        region="eu-west",
        webhook_url=None,
        storage=None,
        context=SETUP,
    )
    app.save(project)
    return project


def change_plan(app: PulseApplication, organization_id: UUID, plan: Plan) -> None:
    organization = app.load(organization_id, Organization)
    organization.update({"plan": str(plan)}, SETUP)
    app.save(organization)


def put_month_usage(
    database: Database[dict[str, Any]],
    project_id: UUID,
    moment: datetime,
    usage: dict[Meter, int],
) -> None:
    """Set the project's month bucket of ``moment``'s period to ``usage`` (raw units)."""
    start = month_of(moment)
    fields = dict.fromkeys(RAW_FIELDS, 0)
    fields.update({meter.raw_field: quantity for meter, quantity in usage.items()})
    database[USAGE_BUCKETS].replace_one(
        {"_id": f"{project_id}:month:{start:%Y-%m-%dT%H}"},
        {
            "project_id": str(project_id),
            "granularity": "month",
            "start": start,
            "period": period_of(moment),
            **fields,
            "applied_through": 0,
        },
        upsert=True,
    )


def put_bucket(
    database: Database[dict[str, Any]],
    project_id: UUID,
    granularity: str,
    start: datetime,
    usage: dict[Meter, int],
) -> None:
    fields = dict.fromkeys(RAW_FIELDS, 0)
    fields.update({meter.raw_field: quantity for meter, quantity in usage.items()})
    database[USAGE_BUCKETS].replace_one(
        {"_id": f"{project_id}:{granularity}:{start:%Y-%m-%dT%H}"},
        {
            "project_id": str(project_id),
            "granularity": granularity,
            "start": start,
            "period": period_of(start),
            **fields,
            "applied_through": 0,
        },
        upsert=True,
    )


def stay(
    app: PulseApplication, project_id: UUID, joined_at: datetime, left_at: datetime
) -> ParticipantSession:
    """A participant's whole stay, as the LiveKit intake records it: joined, then left."""
    session = ParticipantSession(
        project_id=project_id,
        room_id=uuid.uuid4(),
        room_name="standup",
        room_sid=f"RM_{uuid.uuid4().hex[:8]}",
        participant_sid=f"PA_{uuid.uuid4().hex[:8]}",
        identity=f"user-{uuid.uuid4().hex[:6]}",
        name="User",
        joined_at=joined_at,
        context=SETUP,
    )
    session.leave(left_at, ClosedBy.WEBHOOK, "left", SETUP)
    app.save(session)
    return session
