"""Shared set-up for event-store tests: a real FerretDB/MongoDB, emptied per test."""

from __future__ import annotations

import os

from pulse.eventstore import MongoDatastore, StoreSettings

MONGO_URI = os.environ.get("PULSE_MONGO_URI", "mongodb://127.0.0.1:27017")
TEST_DATABASE = os.environ.get("PULSE_TEST_EVENTSTORE_DATABASE", "pulse_test_eventstore")


def fresh_datastore(settings: StoreSettings | None = None) -> MongoDatastore:
    """A datastore on an empty test database (every collection dropped)."""
    datastore = MongoDatastore(MONGO_URI, TEST_DATABASE, settings)
    empty_database(datastore)
    return datastore


def empty_database(datastore: MongoDatastore) -> None:
    for name in datastore.database.list_collection_names():
        datastore.database.drop_collection(name)
