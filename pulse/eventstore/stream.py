"""Reading a long stretch of the notification log in one pass, for replays.

Paged reads (``select_notifications``) suit a projection keeping up. A replay of a
whole store is different: on FerretDB each page query scans the collection from
its start, so reading a million events page by page costs time quadratic in the
store's size. One cursor over the id range reads it in a single pass instead.

The cursor asks for no server-side sort (FerretDB would sort the whole range in
memory), so documents come in storage order, which is the commit order: writers
are serialised by the commit log and insert their events in id order. A bounded
reorder window still puts any straggler back in place, and an event that would
come out of order even so stops the stream rather than be applied out of order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence

from bson.int64 import Int64
from eventsourcing.persistence import Notification
from pymongo.collection import Collection

from pulse.eventstore.aggregate_recorder import EVENT_FIELDS
from pulse.eventstore.datastore import Document
from pulse.eventstore.documents import notification_from
from pulse.eventstore.errors import translated_errors

REORDER_WINDOW = 10_000
CURSOR_BATCH = 2_000


class StreamOrderError(RuntimeError):
    """The log yielded an event further out of order than the reorder window."""


def stream_notifications(
    events: Collection[Document],
    after: int,
    upto: int,
    topics: Sequence[str] = (),
    *,
    window: int = REORDER_WINDOW,
) -> Iterator[Notification]:
    """Notifications with ``after < id <= upto`` (of ``topics``, if given), by id."""
    if upto <= after:
        return
    query: Document = {"_id": {"$gt": Int64(after), "$lte": Int64(upto)}}
    if topics:
        query["topic"] = {"$in": list(topics)}
    pending: list[tuple[int, Document]] = []
    last = after
    with translated_errors():
        cursor = events.find(query, EVENT_FIELDS, batch_size=CURSOR_BATCH)
        try:
            for document in cursor:
                heapq.heappush(pending, (int(document["_id"]), document))
                if len(pending) > window:
                    notification_id, earliest = heapq.heappop(pending)
                    last = _in_order(last, notification_id)
                    yield notification_from(earliest)
        finally:
            cursor.close()
    while pending:
        notification_id, earliest = heapq.heappop(pending)
        last = _in_order(last, notification_id)
        yield notification_from(earliest)


def _in_order(last: int, notification_id: int) -> int:
    if notification_id <= last:
        msg = f"notification {notification_id} arrived after {last}, beyond the reorder window"
        raise StreamOrderError(msg)
    return notification_id
