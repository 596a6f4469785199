"""Create the read models of egresses and ingresses, with their indexes.

Names are spelled out here, not imported: an applied migration must keep doing
exactly what it did, whatever later code calls things.
"""

from __future__ import annotations

from contextlib import suppress

from pymongo import ASCENDING
from pymongo.errors import CollectionInvalid

from pulse.migrator import MigrationContext

_INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    "rm_egresses": [
        # A project's egresses by request time, optionally of one room or status.
        [("project_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
        [
            ("project_id", ASCENDING),
            ("room", ASCENDING),
            ("created_at", ASCENDING),
            ("_id", ASCENDING),
        ],
        [
            ("project_id", ASCENDING),
            ("status", ASCENDING),
            ("created_at", ASCENDING),
            ("_id", ASCENDING),
        ],
    ],
    "rm_ingresses": [
        [
            ("project_id", ASCENDING),
            ("deleted", ASCENDING),
            ("created_at", ASCENDING),
            ("_id", ASCENDING),
        ],
        [
            ("project_id", ASCENDING),
            ("room", ASCENDING),
            ("created_at", ASCENDING),
            ("_id", ASCENDING),
        ],
    ],
}


def apply(context: MigrationContext) -> None:
    database = context.database
    for collection, indexes in _INDEXES.items():
        with suppress(CollectionInvalid):
            database.create_collection(collection)
        for keys in indexes:
            database[collection].create_index(keys)
