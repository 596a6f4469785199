"""How stored events and tracking positions are laid out as BSON documents.

One document per event::

    {_id: <notification id, int64>, originator_id: <UUID or str>,
     originator_version: <int>, topic: <str>, state: <binary>,
     slot: <int64>, writer: <token>}

``slot`` and ``writer`` name the commit-log claim under which the document was
inserted. A document is committed when its id is at or below the ``hwm`` of the
newest seal; ``slot`` lets a writer remove uncommitted leftovers of older slots
without ever touching the documents of a newer one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote
from uuid import UUID

from bson.int64 import Int64
from eventsourcing.persistence import Notification, StoredEvent

from pulse.eventstore.datastore import Document


def event_document(event: StoredEvent, notification_id: int, slot: int, writer: str) -> Document:
    return {
        "_id": Int64(notification_id),
        "originator_id": event.originator_id,
        "originator_version": event.originator_version,
        "topic": event.topic,
        "state": event.state,
        "slot": Int64(slot),
        "writer": writer,
    }


def stored_event_from(document: Mapping[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=_originator_id(document["originator_id"]),
        originator_version=int(document["originator_version"]),
        topic=document["topic"],
        state=bytes(document["state"]),
    )


def notification_from(document: Mapping[str, Any]) -> Notification:
    return Notification(
        id=int(document["_id"]),
        originator_id=_originator_id(document["originator_id"]),
        originator_version=int(document["originator_version"]),
        topic=document["topic"],
        state=bytes(document["state"]),
    )


def _originator_id(value: object) -> UUID | str:
    if isinstance(value, UUID | str):
        return value
    msg = f"Unexpected originator id type in event store: {type(value).__name__}"
    raise TypeError(msg)


def tracking_field(application_name: str) -> str:
    """Field name under ``tracking`` for an upstream application's position.

    Application names may hold '.' or start with '$', which field names may not
    (FerretDB refuses them, MongoDB treats them as paths or operators), so every
    character outside [A-Za-z0-9_-] is percent-encoded; the mapping is one-to-one.
    """
    return quote(application_name, safe="").replace(".", "%2E").replace("~", "%7E")
