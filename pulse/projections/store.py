"""Where projections read from and write to, given the ``PulseApplication``."""

from __future__ import annotations

from pymongo.database import Database

from pulse.config import Settings
from pulse.eventstore.application_recorder import MongoApplicationRecorder
from pulse.eventstore.tracking_recorder import MongoTrackingRecorder
from pulse.projections.model import Document
from pulse.services.application import PulseApplication


def _recorder(app: PulseApplication) -> MongoApplicationRecorder:
    recorder = app.recorder
    if not isinstance(recorder, MongoApplicationRecorder):
        raise TypeError("projections need the MongoDB event store (PERSISTENCE_MODULE)")
    return recorder


def read_model_database(app: PulseApplication) -> Database[Document]:
    """The event store's own database handle: read models live beside the events.

    It reuses the application's client (majority reads and writes, UTC-aware times),
    so a worker needs no second connection pool.
    """
    return _recorder(app).datastore.database


def tracking_recorder(app: PulseApplication, settings: Settings) -> MongoTrackingRecorder:
    """Positions of every projection, in ``<eventstore_name>_tracking`` (migration 0001)."""
    return MongoTrackingRecorder(
        _recorder(app).datastore, tracking_collection_name=f"{settings.eventstore_name}_tracking"
    )


def newest_notification_id(app: PulseApplication) -> int:
    return app.recorder.max_notification_id() or 0
