"""``rm_usage_alerts``: every usage alert raised, as the alert list shows it."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pulse.domain.usage_alert import UsageAlert
from pulse.projections.collections import USAGE_ALERTS
from pulse.projections.model import Document, Projection, event_topic
from pulse.projections.writes import create, text, utc


def _raised(database: Database[Document], event: Any) -> None:
    create(
        database[USAGE_ALERTS],
        text(event.originator_id),
        event.originator_version,
        {
            "project_id": text(event.project_id),
            "organization_id": text(event.organization_id),
            "period": event.period,
            "meter": text(event.meter),
            "level": text(event.level),
            "percent": event.percent,
            "used": event.used,
            "limit": event.limit,
            "plan": text(event.plan),
            "raised_at": utc(event.timestamp),
        },
    )


PROJECTION = Projection(
    name="usage_alerts",
    collections=(USAGE_ALERTS,),
    handlers={event_topic(UsageAlert, "Raised"): _raised},
)
