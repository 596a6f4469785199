"""Connection to MongoDB shared by every recorder a factory creates."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from pymongo import MongoClient, WriteConcern
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.read_concern import ReadConcern

Document = dict[str, Any]


@dataclass(frozen=True)
class StoreSettings:
    """Tuning of the write protocol; see docs/architecture.md for each trade-off."""

    lease_timeout: float = 5.0
    """Seconds a claimed slot may go without a heartbeat before a waiter aborts it."""

    acquire_timeout: float = 30.0
    """Seconds a save waits for its turn to write before failing with OperationalError."""

    max_hold: float = 60.0
    """Seconds after which a writer refuses to commit a slot it claimed (a stalled save)."""

    poll_interval: float = 0.1
    """Seconds between checks of the committed head by subscriptions."""

    insert_chunk_size: int = 500
    """Events per insert round trip; the claim is renewed between chunks."""

    retained_slots: int = 64
    """Commit-log slots kept behind the newest; older ones are deleted."""

    collect_every: int = 16
    """Delete old slots once every this many commits."""


class MongoDatastore:
    """Owns the PyMongo client, the database handle and per-process writer locks.

    Writers in one process first serialise on a local lock, so that only one thread
    per process competes for the next commit slot; this keeps claim polling off the
    server when many threads of one process save at once.
    """

    def __init__(
        self,
        uri: str,
        database: str,
        settings: StoreSettings | None = None,
        server_selection_timeout_ms: int = 5000,
    ) -> None:
        self.settings = settings or StoreSettings()
        self.client: MongoClient[Document] = MongoClient(
            uri,
            uuidRepresentation="standard",
            tz_aware=True,
            appname="pulse-eventstore",
            serverSelectionTimeoutMS=server_selection_timeout_ms,
        )
        # Majority write and read concerns: a committed head must survive a primary
        # failover, or readers could see ids that are later rolled back.
        self.database: Database[Document] = self.client.get_database(
            database,
            write_concern=WriteConcern(w="majority"),
            read_concern=ReadConcern("majority"),
        )
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def collection(self, name: str) -> Collection[Document]:
        return self.database.get_collection(name)

    def writer_lock(self, store: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(store, threading.Lock())

    def close(self) -> None:
        self.client.close()
