"""The eventsourcing infrastructure factory for MongoDB (``PERSISTENCE_MODULE``).

Environment variables (each may be prefixed with the application name, as the
library does for all its settings, e.g. ``PULSE_MONGO_URI``):

- ``MONGO_URI``: connection string (default ``mongodb://127.0.0.1:27017``)
- ``MONGO_DATABASE``: database name (default ``pulse``)
- ``MONGO_LEASE_TIMEOUT``: seconds a writer's claim may go without a heartbeat before a
  waiting writer aborts it (5)
- ``MONGO_ACQUIRE_TIMEOUT``: seconds a save waits for its turn to write (30)
- ``MONGO_POLL_INTERVAL``: seconds between subscription polls of the newest commit (0.1)
- ``MONGO_INSERT_CHUNK_SIZE``: events per insert round trip (500)
- ``CREATE_TABLE``: create collections, indexes and the commit log (default yes)
"""

from __future__ import annotations

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic, strtobool

from pulse.eventstore.aggregate_recorder import MongoAggregateRecorder
from pulse.eventstore.application_recorder import MongoApplicationRecorder
from pulse.eventstore.datastore import MongoDatastore, StoreSettings
from pulse.eventstore.process_recorder import MongoProcessRecorder
from pulse.eventstore.tracking_recorder import MongoTrackingRecorder


class MongoFactory(InfrastructureFactory[MongoTrackingRecorder]):
    MONGO_URI = "MONGO_URI"
    MONGO_DATABASE = "MONGO_DATABASE"
    MONGO_LEASE_TIMEOUT = "MONGO_LEASE_TIMEOUT"
    MONGO_ACQUIRE_TIMEOUT = "MONGO_ACQUIRE_TIMEOUT"
    MONGO_POLL_INTERVAL = "MONGO_POLL_INTERVAL"
    MONGO_INSERT_CHUNK_SIZE = "MONGO_INSERT_CHUNK_SIZE"
    CREATE_TABLE = "CREATE_TABLE"

    aggregate_recorder_class = MongoAggregateRecorder
    application_recorder_class = MongoApplicationRecorder
    tracking_recorder_class = MongoTrackingRecorder
    process_recorder_class = MongoProcessRecorder

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        defaults = StoreSettings()
        settings = StoreSettings(
            lease_timeout=self._float(self.MONGO_LEASE_TIMEOUT, defaults.lease_timeout),
            acquire_timeout=self._float(self.MONGO_ACQUIRE_TIMEOUT, defaults.acquire_timeout),
            poll_interval=self._float(self.MONGO_POLL_INTERVAL, defaults.poll_interval),
            insert_chunk_size=int(
                self._float(self.MONGO_INSERT_CHUNK_SIZE, defaults.insert_chunk_size)
            ),
        )
        self.datastore = MongoDatastore(
            uri=self.env.get(self.MONGO_URI) or "mongodb://127.0.0.1:27017",
            database=self.env.get(self.MONGO_DATABASE) or "pulse",
            settings=settings,
        )

    def _float(self, key: str, default: float) -> float:
        raw = (self.env.get(key) or "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            msg = f"Environment value for '{key}' must be a number, got '{raw}'"
            raise OSError(msg) from None
        if value <= 0:
            msg = f"Environment value for '{key}' must be positive, got '{raw}'"
            raise OSError(msg)
        return value

    def _prefix(self, default: str) -> str:
        return self.env.name.lower() or default

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder = type(self).aggregate_recorder_class(
            datastore=self.datastore,
            events_collection_name=f"{self._prefix('stored')}_{purpose}",
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def application_recorder(self) -> ApplicationRecorder:
        topic = self.env.get(self.APPLICATION_RECORDER_TOPIC)
        cls: type[MongoApplicationRecorder] = (
            resolve_topic(topic) if topic else type(self).application_recorder_class
        )
        assert issubclass(cls, MongoApplicationRecorder)
        recorder = cls(
            datastore=self.datastore,
            events_collection_name=f"{self._prefix('stored')}_events",
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def tracking_recorder(
        self, tracking_recorder_class: type[MongoTrackingRecorder] | None = None
    ) -> MongoTrackingRecorder:
        if tracking_recorder_class is None:
            topic = self.env.get(self.TRACKING_RECORDER_TOPIC)
            tracking_recorder_class = (
                resolve_topic(topic) if topic else type(self).tracking_recorder_class
            )
        assert tracking_recorder_class is not None
        assert issubclass(tracking_recorder_class, MongoTrackingRecorder)
        recorder = tracking_recorder_class(
            datastore=self.datastore,
            tracking_collection_name=f"{self._prefix('notification')}_tracking",
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def process_recorder(self) -> ProcessRecorder:
        topic = self.env.get(self.PROCESS_RECORDER_TOPIC)
        cls: type[MongoProcessRecorder] = (
            resolve_topic(topic) if topic else type(self).process_recorder_class
        )
        assert issubclass(cls, MongoProcessRecorder)
        recorder = cls(
            datastore=self.datastore,
            events_collection_name=f"{self._prefix('stored')}_events",
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def env_create_table(self) -> bool:
        return bool(strtobool(self.env.get(self.CREATE_TABLE) or "yes"))

    def close(self) -> None:
        self.datastore.close()
