"""Create the usage read model (per-project hourly, daily and monthly buckets).

Names are spelled out here, not imported: an applied migration must keep doing
exactly what it did, whatever later code calls things.
"""

from __future__ import annotations

from contextlib import suppress

from pymongo import ASCENDING
from pymongo.errors import CollectionInvalid

from pulse.migrator import MigrationContext

_INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    "rm_usage_buckets": [
        # A project's buckets of one granularity over a time range (usage routes).
        [("project_id", ASCENDING), ("granularity", ASCENDING), ("start", ASCENDING)],
        # A period's buckets of a project (recompute, invoices).
        [("project_id", ASCENDING), ("period", ASCENDING)],
    ],
    # At most one document: a replay's rewrite cut in two by a crash.
    "rm_usage_redo": [],
}


def apply(context: MigrationContext) -> None:
    database = context.database
    for collection, indexes in _INDEXES.items():
        with suppress(CollectionInvalid):
            database.create_collection(collection)
        for keys in indexes:
            database[collection].create_index(keys)
