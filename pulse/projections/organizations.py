"""``rm_organizations``: the tenants, with their Owner roster and soft deletion."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pulse.domain.organization import Organization
from pulse.projections.collections import ORGANIZATIONS
from pulse.projections.model import Document, Projection, event_topic
from pulse.projections.writes import change, create, due, text, utc


def _created(database: Database[Document], event: Any) -> None:
    at = utc(event.timestamp)
    create(
        database[ORGANIZATIONS],
        text(event.originator_id),
        event.originator_version,
        {
            "name": event.name,
            "name_lower": event.name.lower(),
            "admin_email": event.admin_email,
            "plan": text(event.plan),
            "owner_ids": [text(event.creator_id)],
            "deleted": False,
            "deleted_at": None,
            "created_at": at,
            "updated_at": at,
        },
    )


def _updated(database: Database[Document], event: Any) -> None:
    fields: Document = {"updated_at": utc(event.timestamp)}
    for name in ("name", "admin_email", "plan"):
        if name in event.changes:
            fields[name] = text(event.changes[name])
    if "name" in fields:
        fields["name_lower"] = fields["name"].lower()
    change(database[ORGANIZATIONS], text(event.originator_id), event.originator_version, fields)


def _deleted(database: Database[Document], event: Any) -> None:
    change(
        database[ORGANIZATIONS],
        text(event.originator_id),
        event.originator_version,
        {"deleted": True, "deleted_at": utc(event.deleted_at), "updated_at": utc(event.timestamp)},
    )


def _owners_changed(database: Database[Document], event: Any, *, added: bool) -> None:
    # Read, then a version-guarded write: only this projection's runner writes here,
    # and the list is kept sorted so it matches what the command side answers with.
    collection = database[ORGANIZATIONS]
    doc_id = text(event.originator_id)
    document = collection.find_one({"_id": doc_id}, {"owner_ids": 1, "version": 1})
    if not due(document, event.originator_version):
        return
    owners = set(document["owner_ids"])
    user_id = text(event.user_id)
    if added:
        owners.add(user_id)
    else:
        owners.discard(user_id)
    change(
        collection,
        doc_id,
        event.originator_version,
        {"owner_ids": sorted(owners), "updated_at": utc(event.timestamp)},
    )


def _owner_added(database: Database[Document], event: Any) -> None:
    _owners_changed(database, event, added=True)


def _owner_removed(database: Database[Document], event: Any) -> None:
    _owners_changed(database, event, added=False)


PROJECTION = Projection(
    name="organizations",
    collections=(ORGANIZATIONS,),
    handlers={
        event_topic(Organization, "Created"): _created,
        event_topic(Organization, "Updated"): _updated,
        event_topic(Organization, "Deleted"): _deleted,
        event_topic(Organization, "OwnerAdded"): _owner_added,
        event_topic(Organization, "OwnerRemoved"): _owner_removed,
    },
)
