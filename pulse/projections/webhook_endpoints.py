"""``rm_webhook_endpoints``: a project's endpoints for lists (never the secret)."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pulse.domain.webhook_endpoint import WebhookEndpoint
from pulse.projections.collections import WEBHOOK_ENDPOINTS
from pulse.projections.model import Document, Projection, event_topic
from pulse.projections.writes import change, create, optional_text, text, utc


def _created(database: Database[Document], event: Any) -> None:
    at = utc(event.timestamp)
    create(
        database[WEBHOOK_ENDPOINTS],
        text(event.originator_id),
        event.originator_version,
        {
            "project_id": text(event.project_id),
            "url": event.url,
            "description": event.description,
            "event_types": list(event.event_types),
            "enabled": True,
            "deleted": False,
            "disabled_by": None,
            "disabled_reason": None,
            "failing_since": None,
            "created_at": at,
            "updated_at": at,
        },
    )


def _set(fields_of: Any) -> Any:
    """A handler setting ``fields_of(event)`` plus ``updated_at``."""

    def handler(database: Database[Document], event: Any) -> None:
        change(
            database[WEBHOOK_ENDPOINTS],
            text(event.originator_id),
            event.originator_version,
            {**fields_of(event), "updated_at": utc(event.timestamp)},
        )

    return handler


def _updated_fields(event: Any) -> Document:
    allowed = ("url", "description", "event_types")
    return {name: value for name, value in event.changes.items() if name in allowed}


PROJECTION = Projection(
    name="webhook_endpoints",
    collections=(WEBHOOK_ENDPOINTS,),
    handlers={
        event_topic(WebhookEndpoint, "Created"): _created,
        event_topic(WebhookEndpoint, "Updated"): _set(_updated_fields),
        event_topic(WebhookEndpoint, "Enabled"): _set(
            lambda e: {
                "enabled": True,
                "disabled_by": None,
                "disabled_reason": None,
                "failing_since": None,
            }
        ),
        event_topic(WebhookEndpoint, "Disabled"): _set(
            lambda e: {
                "enabled": False,
                "disabled_by": optional_text(e.by),
                "disabled_reason": e.reason,
            }
        ),
        # Nothing about the secret is shown; the change still moves ``updated_at``.
        event_topic(WebhookEndpoint, "SecretRotated"): _set(lambda e: {}),
        event_topic(WebhookEndpoint, "FailureStreakStarted"): _set(
            lambda e: {"failing_since": utc(e.at)}
        ),
        event_topic(WebhookEndpoint, "FailureStreakEnded"): _set(lambda e: {"failing_since": None}),
        event_topic(WebhookEndpoint, "Deleted"): _set(
            lambda e: {"deleted": True, "enabled": False}
        ),
    },
)
