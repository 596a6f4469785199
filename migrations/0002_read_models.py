"""Create the read-model collections, the indexes their queries use, and the locks.

Names are spelled out here, not imported: an applied migration must keep doing
exactly what it did, whatever later code calls things.
"""

from __future__ import annotations

from contextlib import suppress

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import CollectionInvalid

from pulse.migrator import MigrationContext

_INDEXES: dict[str, list[tuple[list[tuple[str, int]], bool]]] = {
    "rm_users": [([("email", ASCENDING)], False)],
    "rm_organizations": [([("created_at", ASCENDING), ("_id", ASCENDING)], False)],
    "rm_members": [
        (
            [
                ("organization_id", ASCENDING),
                ("active", ASCENDING),
                ("joined_at", ASCENDING),
                ("_id", ASCENDING),
            ],
            False,
        ),
        ([("user_id", ASCENDING), ("active", ASCENDING)], False),
    ],
    "rm_projects": [
        ([("organization_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)], False)
    ],
    # The API authenticates a key by the digest of the presented secret.
    "rm_api_keys": [
        ([("digest", ASCENDING)], True),
        ([("project_id", ASCENDING), ("created_at", DESCENDING)], False),
    ],
    "rm_invitations": [
        ([("organization_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)], False)
    ],
    "projection_locks": [],
}


def apply(context: MigrationContext) -> None:
    database = context.database
    for collection, indexes in _INDEXES.items():
        with suppress(CollectionInvalid):
            database.create_collection(collection)
        for keys, unique in indexes:
            database[collection].create_index(keys, unique=unique)
