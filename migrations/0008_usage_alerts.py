"""Create the read model of usage alerts (``rm_usage_alerts``).

Names are spelled out here, not imported: an applied migration must keep doing
exactly what it did, whatever later code calls things.
"""

from __future__ import annotations

from contextlib import suppress

from pymongo import ASCENDING
from pymongo.errors import CollectionInvalid

from pulse.migrator import MigrationContext


def apply(context: MigrationContext) -> None:
    database = context.database
    with suppress(CollectionInvalid):
        database.create_collection("rm_usage_alerts")
    # A project's alerts of a period, in the order raised (GET /v1/usage/{id}/alerts).
    database["rm_usage_alerts"].create_index(
        [("project_id", ASCENDING), ("period", ASCENDING), ("raised_at", ASCENDING)]
    )
