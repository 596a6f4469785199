"""Checking a project's period usage against its plan, and raising the alerts due.

Usage comes from the month bucket of the usage read model (``rm_usage_buckets``), the
plan from the organization in the event store (a plan change counts at once). Each
alert due is saved as a ``UsageAlert`` whose id is (project, period, meter, level):
an alert raised before (by another check, worker or retried job) collides in the
event store and is skipped, so each is raised, and sent as a webhook, once per period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from pymongo.database import Database

from pulse.domain.context import CommandContext
from pulse.domain.limits import AlertLevel, MeterStatus, alerts_due, evaluate
from pulse.domain.metering import period_of
from pulse.domain.organization import Organization
from pulse.domain.plans import Plan, terms_of
from pulse.domain.pricing import shown_quantity
from pulse.domain.project import Project
from pulse.domain.roles import Permission
from pulse.domain.usage_alert import UsageAlert
from pulse.logging import get_logger
from pulse.projections.collections import USAGE_BUCKETS
from pulse.projections.model import Document
from pulse.projections.store import read_model_database
from pulse.queries.usage import period_usage
from pulse.services.application import PulseApplication
from pulse.services.authorization import require_project
from pulse.services.errors import NotFoundError
from pulse.services.views import ms

log = get_logger(__name__)

CHECK_CONTEXT = CommandContext.system("usage-limit-check")


@dataclass(frozen=True)
class LimitCheck:
    project_id: UUID
    organization_id: UUID
    period: str
    plan: Plan
    statuses: list[MeterStatus]
    raised: list[UsageAlert] = field(default_factory=list)
    """Alerts this check raised (not those raised before)."""


def _used_text(status: MeterStatus) -> str:
    return str(shown_quantity(status.used))


def _alert(
    check: LimitCheck, status: MeterStatus, level: AlertLevel, context: CommandContext
) -> UsageAlert:
    return UsageAlert(
        project_id=check.project_id,
        organization_id=check.organization_id,
        period=check.period,
        meter=str(status.meter),
        level=str(level),
        percent=str(status.percent),
        used=_used_text(status),
        limit=str(status.limit),
        plan=str(check.plan),
        context=context,
    )


def check_limits(
    app: PulseApplication,
    database: Database[Document],
    project_id: UUID,
    context: CommandContext,
    now: datetime,
) -> LimitCheck:
    """Where the project stands in ``now``'s period; raises the alerts newly due.

    ``NotFoundError`` for a deleted project or organization (nothing is metered
    against them any more).
    """
    project = app.load(project_id, Project)
    if project.is_deleted:
        raise NotFoundError(f"Project {project_id}")
    organization = app.load(project.organization_id, Organization)
    if organization.is_deleted:
        raise NotFoundError(f"Project {project_id}")
    period = period_of(now)
    terms = terms_of(organization.plan)
    statuses = evaluate(terms, period_usage(database, project_id, period))
    check = LimitCheck(project_id, organization.id, period, organization.plan, statuses)
    for status, level in alerts_due(statuses):
        alert = _alert(check, status, level, context)
        try:
            app.save(alert)
        except IntegrityError:
            continue  # Raised before in this period: once is the rule.
        check.raised.append(alert)
        log.info(
            "usage_alert_raised",
            project_id=str(project_id),
            period=period,
            meter=str(status.meter),
            level=str(level),
            percent=str(status.percent),
        )
    return check


def metered_projects(database: Database[Document], now: datetime) -> list[UUID]:
    """Projects with usage in ``now``'s period (a month bucket), in id order."""
    found = database[USAGE_BUCKETS].find(
        {"granularity": "month", "period": period_of(now)}, {"project_id": 1}
    )
    return sorted({UUID(str(document["project_id"])) for document in found}, key=str)


def check_all(app: PulseApplication, database: Database[Document], now: datetime) -> int:
    """Check every project with usage this period; returns how many alerts were raised."""
    raised = 0
    for project_id in metered_projects(database, now):
        try:
            raised += len(check_limits(app, database, project_id, CHECK_CONTEXT, now).raised)
        except NotFoundError:
            continue  # Deleted since it was used.
    return raised


# -- for the routes --------------------------------------------------------------------------


def authorize(app: PulseApplication, project_id: UUID, user_id: UUID) -> Organization:
    """The project's organization if the caller may see its usage (any role); else
    ``NotFoundError`` (not a member: nothing is learnt about the project)."""
    _, found = require_project(app, project_id, user_id, Permission.VIEW_USAGE)
    return found.organization


def check_for_user(
    app: PulseApplication,
    project_id: UUID,
    user_id: UUID,
    context: CommandContext,
    now: datetime,
) -> LimitCheck:
    """``check_limits`` on behalf of a member (any role: it raises only what is due)."""
    authorize(app, project_id, user_id)
    return check_limits(app, read_model_database(app), project_id, context, now)


def alert_view(alert: UsageAlert) -> dict[str, str | datetime | None]:
    """An alert as ``rm_usage_alerts`` lists it."""
    return {
        "id": str(alert.id),
        "project_id": str(alert.project_id),
        "organization_id": str(alert.organization_id),
        "period": alert.period,
        "meter": str(alert.meter),
        "level": str(alert.level),
        "percent": alert.percent,
        "used": alert.used,
        "limit": alert.limit,
        "plan": alert.plan,
        "raised_at": ms(alert.created_on),
    }
