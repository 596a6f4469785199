"""``rm_projects`` (and, in the same projection, ``rm_api_keys``).

One projection owns both collections because a key's document needs its project's
organization id, which only the project's ``Created`` event carries; one runner
applies both in log order, so the project's document is always there first.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pulse.domain.project import Project
from pulse.projections import api_keys
from pulse.projections.collections import API_KEYS, PROJECTS
from pulse.projections.model import Document, Projection, event_topic
from pulse.projections.writes import change, create, optional_text, text, utc
from pulse.services.storage_secrets import SECRET_FIELD


def _without_secret(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_secret(v) for k, v in value.items() if k != SECRET_FIELD}
    if isinstance(value, list):
        return [_without_secret(item) for item in value]
    return value


def public_storage(storage: dict[str, Any] | None) -> dict[str, Any] | None:
    """The storage settings without any secret (at any depth), and whether one is set."""
    if storage is None:
        return None
    shown: dict[str, Any] = _without_secret(storage)
    return {**shown, "has_secret_access_key": bool(storage.get(SECRET_FIELD))}


def _created(database: Database[Document], event: Any) -> None:
    at = utc(event.timestamp)
    create(
        database[PROJECTS],
        text(event.originator_id),
        event.originator_version,
        {
            "organization_id": text(event.organization_id),
            "name": event.name,
            "name_lower": event.name.lower(),
            "region": event.region,
            "webhook_url": optional_text(event.webhook_url),
            "storage": public_storage(event.storage),
            "deleted": False,
            "deleted_at": None,
            "created_at": at,
            "updated_at": at,
        },
    )


def _updated(database: Database[Document], event: Any) -> None:
    changes: dict[str, Any] = event.changes
    fields: Document = {"updated_at": utc(event.timestamp)}
    if "name" in changes:
        fields["name"] = changes["name"]
        fields["name_lower"] = str(changes["name"]).lower()
    if "region" in changes:
        fields["region"] = changes["region"]
    if "webhook_url" in changes:
        fields["webhook_url"] = optional_text(changes["webhook_url"])
    if "storage" in changes:
        fields["storage"] = public_storage(changes["storage"])
    change(database[PROJECTS], text(event.originator_id), event.originator_version, fields)


def _deleted(database: Database[Document], event: Any) -> None:
    change(
        database[PROJECTS],
        text(event.originator_id),
        event.originator_version,
        {"deleted": True, "deleted_at": utc(event.deleted_at), "updated_at": utc(event.timestamp)},
    )


PROJECTION = Projection(
    name="projects",
    collections=(PROJECTS, API_KEYS),
    handlers={
        event_topic(Project, "Created"): _created,
        event_topic(Project, "Updated"): _updated,
        event_topic(Project, "Deleted"): _deleted,
        **api_keys.HANDLERS,
    },
)
