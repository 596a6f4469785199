"""Aggregate sequences: events of one originator, in version order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from bson.int64 import Int64
from eventsourcing.persistence import AggregateRecorder, StoredEvent
from pymongo import ASCENDING, DESCENDING

from pulse.eventstore.datastore import Document, MongoDatastore
from pulse.eventstore.documents import stored_event_from
from pulse.eventstore.errors import translated_errors
from pulse.eventstore.schema import ensure_event_collection
from pulse.eventstore.writer import EventWriter

EVENT_FIELDS = {"originator_id": 1, "originator_version": 1, "topic": 1, "state": 1}


class MongoAggregateRecorder(AggregateRecorder):
    def __init__(self, datastore: MongoDatastore, events_collection_name: str = "stored_events"):
        self.datastore = datastore
        self.events_collection_name = events_collection_name
        self.events = datastore.collection(events_collection_name)
        self.writer = EventWriter(datastore, events_collection_name)

    def create_table(self) -> None:
        ensure_event_collection(self.datastore.database, self.events_collection_name)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if stored_events:
            self.writer.write(stored_events)
        return None

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        # Read the committed head first: documents above it may belong to a save that
        # has not committed yet, or never will.
        hwm = self.writer.commit_log.latest().hwm
        query: Document = {"originator_id": originator_id, "_id": {"$lte": Int64(hwm)}}
        versions: Document = {}
        if gt is not None:
            versions["$gt"] = gt
        if lte is not None:
            versions["$lte"] = lte
        if versions:
            query["originator_version"] = versions
        with translated_errors():
            cursor = self.events.find(query, EVENT_FIELDS).sort(
                "originator_version", DESCENDING if desc else ASCENDING
            )
            if limit is not None:
                cursor = cursor.limit(limit)
            return [stored_event_from(document) for document in cursor]
