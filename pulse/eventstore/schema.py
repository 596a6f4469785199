"""Collections, indexes and head documents the event store relies on.

Called by the recorders' ``create_table()`` (the library's convention) and by the
versioned scripts in ``migrations/``; every function here is idempotent.
"""

from __future__ import annotations

from contextlib import suppress

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import CollectionInvalid

from pulse.eventstore.commit_log import CommitLog
from pulse.eventstore.datastore import Document, StoreSettings
from pulse.eventstore.errors import translated_errors

SEQUENCE_INDEX = "originator_id_1_originator_version_1"


def commits_collection_name(events: str) -> str:
    return f"{events}_commits"


def ensure_event_collection(database: Database[Document], events: str) -> None:
    """Create an events collection, its unique keys and its commit log."""
    with translated_errors():
        database[events].create_index(
            [("originator_id", ASCENDING), ("originator_version", ASCENDING)],
            name=SEQUENCE_INDEX,
            unique=True,
        )
        database[commits_collection_name(events)].create_index([("slot", ASCENDING)], name="slot_1")
    CommitLog(database[commits_collection_name(events)], StoreSettings()).initialise()


def ensure_tracking_collection(database: Database[Document], tracking: str) -> None:
    """Create a tracking collection and the index its clean-up queries use."""
    with translated_errors():
        with suppress(CollectionInvalid):
            database.create_collection(tracking)
        database[tracking].create_index(
            [("application_name", ASCENDING), ("notification_id", ASCENDING)],
            name="application_name_1_notification_id_1",
        )
