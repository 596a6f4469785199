"""Create the read models of webhooks to customers (endpoints, deliveries, attempts).

Names are spelled out here, not imported: an applied migration must keep doing
exactly what it did, whatever later code calls things.
"""

from __future__ import annotations

from contextlib import suppress

from pymongo import ASCENDING
from pymongo.errors import CollectionInvalid

from pulse.migrator import MigrationContext

_INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    "rm_webhook_endpoints": [
        # A project's endpoints (lists, and the fan-out's matching).
        [("project_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
    ],
    "rm_webhook_deliveries": [
        # An endpoint's delivery log, optionally of one status.
        [("endpoint_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
        [
            ("endpoint_id", ASCENDING),
            ("status", ASCENDING),
            ("created_at", ASCENDING),
            ("_id", ASCENDING),
        ],
        # The sweeper: pending deliveries due, sending ones whose claim expired.
        [("status", ASCENDING), ("next_attempt_at", ASCENDING)],
        [("status", ASCENDING), ("claimed_until", ASCENDING)],
    ],
    "rm_webhook_attempts": [
        [("delivery_id", ASCENDING), ("started_at", ASCENDING)],
        # Per-endpoint stats: the most recent attempts.
        [("endpoint_id", ASCENDING), ("started_at", ASCENDING)],
    ],
}


def apply(context: MigrationContext) -> None:
    database = context.database
    for collection, indexes in _INDEXES.items():
        with suppress(CollectionInvalid):
            database.create_collection(collection)
        for keys in indexes:
            database[collection].create_index(keys)
