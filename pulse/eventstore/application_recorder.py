"""The application sequence: every event of a store, by gap-free notification id."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from bson.int64 import Int64
from eventsourcing.persistence import (
    ApplicationRecorder,
    Notification,
    StoredEvent,
    Subscription,
)
from pymongo import ASCENDING

from pulse.eventstore.aggregate_recorder import EVENT_FIELDS, MongoAggregateRecorder
from pulse.eventstore.datastore import Document
from pulse.eventstore.documents import notification_from
from pulse.eventstore.errors import translated_errors
from pulse.eventstore.stream import stream_notifications
from pulse.eventstore.subscription import MongoSubscription


class MongoApplicationRecorder(MongoAggregateRecorder, ApplicationRecorder):
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        return self.writer.write(stored_events)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        hwm = self.writer.commit_log.latest().hwm
        upper = hwm if stop is None else min(stop, hwm)
        lower = 1 if start is None else (start if inclusive_of_start else start + 1)
        if lower > upper or limit <= 0:
            return []
        with translated_errors():
            if topics:
                query: Document = {
                    "_id": {"$gte": Int64(lower), "$lte": Int64(upper)},
                    "topic": {"$in": list(topics)},
                }
                cursor = self.events.find(query, EVENT_FIELDS).sort("_id", ASCENDING)
                documents = list(cursor.limit(limit))
            else:
                # Committed ids are contiguous, so the page is exactly this id range.
                # Asking for it without a server-side sort lets FerretDB, which sorts
                # in memory after reading the whole collection, stop once it has the
                # page; MongoDB answers from the _id index either way.
                upper = min(upper, lower + limit - 1)
                count = upper - lower + 1
                query = {"_id": {"$gte": Int64(lower), "$lte": Int64(upper)}}
                documents = list(self.events.find(query, EVENT_FIELDS).limit(count))
                documents.sort(key=lambda document: int(document["_id"]))
            return [notification_from(document) for document in documents]

    def stream_notifications(
        self, after: int = 0, upto: int | None = None, topics: Sequence[str] = ()
    ) -> Iterator[Notification]:
        """Every notification after ``after`` up to ``upto`` (the newest committed, by
        default) in one pass, in id order: for replays of a whole store (``stream``)."""
        hwm = self.writer.commit_log.latest().hwm
        upper = hwm if upto is None else min(upto, hwm)
        return stream_notifications(self.events, after, upper, topics)

    def max_notification_id(self) -> int | None:
        return self.writer.commit_log.latest().hwm or None

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return MongoSubscription(recorder=self, gt=gt, topics=topics)

    def listen(self, event: threading.Event) -> None:
        """Have ``event`` set whenever this process commits new events."""
        self.writer.listen(event)

    def unlisten(self, event: threading.Event) -> None:
        self.writer.unlisten(event)
