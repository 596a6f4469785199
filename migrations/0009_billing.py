"""Create the read models of billing (invoices, billing accounts).

Names are spelled out here, not imported: an applied migration must keep doing
exactly what it did, whatever later code calls things.
"""

from __future__ import annotations

from contextlib import suppress

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import CollectionInvalid

from pulse.migrator import MigrationContext

_INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    "rm_invoices": [
        # A project's invoices by period (lists, the dashboard's recent ones).
        [("project_id", ASCENDING), ("period_start", ASCENDING), ("_id", ASCENDING)],
        [("project_id", ASCENDING), ("period_start", DESCENDING)],
        # The monthly job: drafts still open; an organization's invoices.
        [("status", ASCENDING), ("period_start", ASCENDING)],
        [("organization_id", ASCENDING), ("period_start", ASCENDING)],
    ],
    "rm_billing_accounts": [
        [("organization_id", ASCENDING)],
    ],
}


def apply(context: MigrationContext) -> None:
    database = context.database
    for collection, indexes in _INDEXES.items():
        with suppress(CollectionInvalid):
            database.create_collection(collection)
        for keys in indexes:
            database[collection].create_index(keys)
