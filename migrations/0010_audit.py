"""Create the audit log's read models (entries, and the scopes that place them).

Names are spelled out here, not imported: an applied migration must keep doing
exactly what it did, whatever later code calls things.
"""

from __future__ import annotations

from contextlib import suppress

from pymongo import ASCENDING
from pymongo.errors import CollectionInvalid

from pulse.migrator import MigrationContext

_INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    "rm_audit_log": [
        # An organization's log in time order (lists, export, recent, stats).
        [("organization_id", ASCENDING), ("at", ASCENDING), ("_id", ASCENDING)],
        # The filters: by actor, action, resource, outcome.
        [("organization_id", ASCENDING), ("actor.id", ASCENDING), ("at", ASCENDING)],
        [("organization_id", ASCENDING), ("action", ASCENDING), ("at", ASCENDING)],
        [
            ("organization_id", ASCENDING),
            ("resource.type", ASCENDING),
            ("resource.id", ASCENDING),
            ("at", ASCENDING),
        ],
        [("organization_id", ASCENDING), ("outcome", ASCENDING), ("at", ASCENDING)],
        # The daily retention prune.
        [("at", ASCENDING)],
    ],
    # Looked up by _id only (its default index).
    "rm_audit_scopes": [],
}


def apply(context: MigrationContext) -> None:
    database = context.database
    for collection, indexes in _INDEXES.items():
        with suppress(CollectionInvalid):
            database.create_collection(collection)
        for keys in indexes:
            database[collection].create_index(keys)
