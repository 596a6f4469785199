"""Positions of downstream processing in upstream notification logs.

Two kinds of documents in the tracking collection:

- ``{_id: "position:<n>:<application>", application_name, notification_id}``, one per
  recorded position: its unique key is what makes each position recordable once,
  even by two consumers racing (an insert is atomic on FerretDB and MongoDB alike);
- ``{_id: "latest:<application>", notification_id}``, the newest recorded position,
  read by ``max_tracking_id``. On FerretDB racing updates can leave it one step
  behind; a consumer resuming from it then meets an already-recorded position and
  gets ``IntegrityError`` for it, so nothing is processed twice.

Recording a position at or below the latest one is refused with ``IntegrityError``.
Position documents far behind the latest are deleted now and then.
"""

from __future__ import annotations

from bson.int64 import Int64
from eventsourcing.persistence import IntegrityError, Tracking, TrackingRecorder
from pymongo import errors as mongo_errors

from pulse.eventstore.datastore import MongoDatastore
from pulse.eventstore.errors import translate, translated_errors
from pulse.eventstore.schema import ensure_tracking_collection

_RETAINED_POSITIONS = 1024
_COLLECT_EVERY = 256


class MongoTrackingRecorder(TrackingRecorder):
    def __init__(
        self, datastore: MongoDatastore, tracking_collection_name: str = "notification_tracking"
    ):
        self.datastore = datastore
        self.tracking_collection_name = tracking_collection_name
        self.tracking = datastore.collection(tracking_collection_name)

    def create_table(self) -> None:
        ensure_tracking_collection(self.datastore.database, self.tracking_collection_name)

    def insert_tracking(self, tracking: Tracking) -> None:
        name, position = tracking.application_name, tracking.notification_id
        latest = self.max_tracking_id(name)
        if latest is not None and position <= latest:
            msg = f"Tracking position {position} of '{name}' is not after {latest}"
            raise IntegrityError(msg)
        try:
            self.tracking.insert_one(
                {
                    "_id": f"position:{position}:{name}",
                    "application_name": name,
                    "notification_id": Int64(position),
                }
            )
        except mongo_errors.PyMongoError as error:
            raise translate(error) from error
        self._advance_latest(name, position)
        if position % _COLLECT_EVERY == 0:
            self._collect(name, position)

    def max_tracking_id(self, application_name: str) -> int | None:
        with translated_errors():
            document = self.tracking.find_one({"_id": f"latest:{application_name}"})
        return None if document is None else int(document["notification_id"])

    def forget(self, application_name: str) -> None:
        """Drop every recorded position of one consumer, so it starts again from 0.

        For rebuilding a read model from scratch; the consumer must not run meanwhile.
        """
        with translated_errors():
            self.tracking.delete_many({"application_name": application_name})
            self.tracking.delete_one({"_id": f"latest:{application_name}"})

    def _advance_latest(self, name: str, position: int) -> None:
        try:
            self.tracking.update_one(
                {"_id": f"latest:{name}", "notification_id": {"$lt": Int64(position)}},
                {"$set": {"notification_id": Int64(position)}},
                upsert=True,
            )
        except mongo_errors.DuplicateKeyError:
            pass  # A racing consumer already recorded a later position.
        except mongo_errors.PyMongoError as error:
            raise translate(error) from error

    def _collect(self, name: str, position: int) -> None:
        with translated_errors():
            self.tracking.delete_many(
                {
                    "application_name": name,
                    "notification_id": {"$lt": Int64(position - _RETAINED_POSITIONS)},
                }
            )
