from __future__ import annotations

from collections.abc import Iterator

import pytest

from pulse.eventstore import MongoApplicationRecorder, MongoDatastore, StoreSettings
from tests.eventstore.support import empty_database, fresh_datastore

STORE = "faults_events"
FAST_TAKEOVER = StoreSettings(lease_timeout=1.0, acquire_timeout=30.0, poll_interval=0.02)


@pytest.fixture
def datastore() -> Iterator[MongoDatastore]:
    datastore = fresh_datastore(FAST_TAKEOVER)
    yield datastore
    empty_database(datastore)
    datastore.close()


@pytest.fixture
def recorder(datastore: MongoDatastore) -> MongoApplicationRecorder:
    recorder = MongoApplicationRecorder(datastore, STORE)
    recorder.create_table()
    return recorder


@pytest.fixture
def other_process_recorder(datastore: MongoDatastore) -> Iterator[MongoApplicationRecorder]:
    """A recorder with its own client and locks, as another process would have."""
    other = MongoDatastore(
        datastore.client.address
        and f"mongodb://{datastore.client.address[0]}:{datastore.client.address[1]}",
        datastore.database.name,
        FAST_TAKEOVER,
    )
    yield MongoApplicationRecorder(other, STORE)
    other.close()
