"""``rm_api_keys``: one document per project key, looked up by the digest of its secret.

The key events belong to the Project aggregate, so each document's ``version`` is
the project's version of the last event that changed that key. These handlers run
in the ``projects`` projection, after the project's ``Created`` (same log, same
runner), so the project's document is there to give the organization id. A key
event also moves the project's ``updated_at`` and ``version`` on, as it does the
aggregate's ``modified_on`` and version, so both sides describe a project alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from pulse.domain.project import Project
from pulse.projections.collections import API_KEYS, PROJECTS
from pulse.projections.model import Document, Handler, event_topic
from pulse.projections.writes import change, create, due, text, utc


def _earlier(current: datetime | None, proposed: datetime) -> datetime:
    """As the aggregate does it: a rotation may shorten a key's life, never extend it."""
    return proposed if current is None else min(current, proposed)


def _organization_of(database: Database[Document], project_id: str) -> str | None:
    project = database[PROJECTS].find_one({"_id": project_id}, {"organization_id": 1})
    return None if project is None else str(project["organization_id"])


def _new_key(database: Database[Document], event: Any, key_id: str, name: str, digest: str) -> None:
    project_id = text(event.originator_id)
    create(
        database[API_KEYS],
        key_id,
        event.originator_version,
        {
            "project_id": project_id,
            "organization_id": _organization_of(database, project_id),
            "name": name,
            "digest": digest,
            "created_at": utc(event.created_at),
            "expires_at": None,
            "revoked_at": None,
        },
    )


def _expire_by(database: Database[Document], event: Any, key_id: str, until: datetime) -> None:
    collection = database[API_KEYS]
    key = collection.find_one({"_id": key_id}, {"expires_at": 1, "version": 1})
    if not due(key, event.originator_version):
        return
    current = utc(key["expires_at"])
    expires_at = _earlier(current, utc(until))
    change(collection, key_id, event.originator_version, {"expires_at": expires_at})


def _touch_project(database: Database[Document], event: Any) -> None:
    change(
        database[PROJECTS],
        text(event.originator_id),
        event.originator_version,
        {"updated_at": utc(event.timestamp)},
    )


def _key_created(database: Database[Document], event: Any) -> None:
    _new_key(database, event, event.key_id, event.name, event.digest)
    _touch_project(database, event)


def _key_revoked(database: Database[Document], event: Any) -> None:
    change(
        database[API_KEYS],
        event.key_id,
        event.originator_version,
        {"revoked_at": utc(event.revoked_at)},
    )
    _touch_project(database, event)


def _key_rotated(database: Database[Document], event: Any) -> None:
    old = database[API_KEYS].find_one({"_id": event.key_id}, {"name": 1})
    # The new key takes the old one's name, as in the aggregate.
    name = "default" if old is None else str(old["name"])
    _new_key(database, event, event.new_key_id, name, event.new_digest)
    _expire_by(database, event, event.key_id, event.old_valid_until)
    _touch_project(database, event)


def _keys_regenerated(database: Database[Document], event: Any) -> None:
    for key_id in event.retired:
        _expire_by(database, event, key_id, event.old_valid_until)
    _new_key(database, event, event.new_key_id, "default", event.new_digest)
    _touch_project(database, event)


HANDLERS: dict[str, Handler] = {
    event_topic(Project, "KeyCreated"): _key_created,
    event_topic(Project, "KeyRevoked"): _key_revoked,
    event_topic(Project, "KeyRotated"): _key_rotated,
    event_topic(Project, "KeysRegenerated"): _keys_regenerated,
}
