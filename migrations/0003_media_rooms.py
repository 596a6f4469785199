"""Create the read models of LiveKit rooms and participant sessions, with their indexes.

Names are spelled out here, not imported: an applied migration must keep doing
exactly what it did, whatever later code calls things.
"""

from __future__ import annotations

from contextlib import suppress

from pymongo import ASCENDING
from pymongo.errors import CollectionInvalid

from pulse.migrator import MigrationContext

_INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    "rm_rooms": [
        # A project's rooms, by start; the open ones (reconciliation, "live now").
        [("project_id", ASCENDING), ("started_at", ASCENDING), ("_id", ASCENDING)],
        [("open", ASCENDING), ("project_id", ASCENDING)],
    ],
    "rm_participant_sessions": [
        # A project's open sessions, a room's sessions, and every open session.
        [
            ("project_id", ASCENDING),
            ("open", ASCENDING),
            ("joined_at", ASCENDING),
            ("_id", ASCENDING),
        ],
        [
            ("project_id", ASCENDING),
            ("room_name", ASCENDING),
            ("joined_at", ASCENDING),
            ("_id", ASCENDING),
        ],
        [("open", ASCENDING), ("room_sid", ASCENDING)],
    ],
}


def apply(context: MigrationContext) -> None:
    database = context.database
    for collection, indexes in _INDEXES.items():
        with suppress(CollectionInvalid):
            database.create_collection(collection)
        for keys in indexes:
            database[collection].create_index(keys)
