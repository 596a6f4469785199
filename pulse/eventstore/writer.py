"""The save protocol: claim a slot, insert above the committed head, seal the slot.

Steps of a save (docs/architecture.md explains why each is there):

1. refuse a batch holding the same (originator_id, version) twice, before any I/O;
2. claim the next commit-log slot (in-process lock first, then a unique insert);
3. check the tracking position, if any, against the committed one;
4. insert the events with ids ``hwm+1 .. hwm+n``, renewing the claim between chunks;
   a duplicate key means either a real conflict with a committed event
   (-> ``IntegrityError``) or leftovers of a writer that died before committing
   (-> remove leftovers of older slots, try again);
5. seal the slot with the new ``hwm``: the one insert that commits the save.

If anything fails before the seal, the writer removes its own documents and gives
the slot up; if it cannot (it crashed), its documents stay invisible above ``hwm``
until the next writer collides with them and removes them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from itertools import islice

from bson.int64 import Int64
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent, Tracking
from pymongo import errors as mongo_errors
from pymongo.collection import Collection

from pulse.eventstore.commit_log import Claim, CommitLog, LeaseLostError
from pulse.eventstore.datastore import Document, MongoDatastore
from pulse.eventstore.documents import event_document
from pulse.eventstore.errors import is_duplicate_key, translate, translated_errors
from pulse.eventstore.schema import commits_collection_name

_MAX_INSERT_ATTEMPTS = 5


class EventWriter:
    def __init__(self, datastore: MongoDatastore, events: str) -> None:
        self._datastore = datastore
        self._events: Collection[Document] = datastore.collection(events)
        self.commit_log = CommitLog(
            datastore.collection(commits_collection_name(events)), datastore.settings
        )
        self._local_lock = datastore.writer_lock(events)
        self._listeners: set[threading.Event] = set()
        self._listeners_lock = threading.Lock()

    def write(
        self, stored_events: Sequence[StoredEvent], tracking: Tracking | None = None
    ) -> list[int]:
        """Commit the events (and tracking position) atomically; return their ids."""
        _refuse_duplicates_within(stored_events)
        with self._local_lock:
            claim = self.commit_log.claim()
            try:
                _check_tracking(claim, tracking)
                ids = self._insert(claim, stored_events)
            except BaseException:
                self._abandon(claim, remove_own=bool(stored_events))
                raise
            try:
                self.commit_log.seal(
                    claim,
                    claim.base.hwm + len(ids),
                    None
                    if tracking is None
                    else (tracking.application_name, tracking.notification_id),
                )
            except LeaseLostError:
                # Surely not committed: the slot's seal is someone else's abort.
                self._remove_own(claim)
                raise
        if ids:
            self._wake_listeners()
        return ids

    def _insert(self, claim: Claim, stored_events: Sequence[StoredEvent]) -> list[int]:
        ids = list(range(claim.base.hwm + 1, claim.base.hwm + 1 + len(stored_events)))
        documents = [
            event_document(event, notification_id, claim.slot, claim.writer)
            for event, notification_id in zip(stored_events, ids, strict=True)
        ]
        for _ in range(_MAX_INSERT_ATTEMPTS):
            try:
                self._insert_in_chunks(claim, documents)
            except mongo_errors.PyMongoError as error:
                if not is_duplicate_key(error):
                    raise translate(error) from error
                self._remove_uncommitted(claim)
                if self._conflicts_with_committed(claim, stored_events):
                    msg = "An event with the same originator id and version is already stored"
                    raise IntegrityError(msg) from error
                continue  # The collision was with a dead writer's leftovers.
            return ids
        msg = f"Could not insert events after {_MAX_INSERT_ATTEMPTS} attempts"
        raise OperationalError(msg)

    def _insert_in_chunks(self, claim: Claim, documents: list[Document]) -> None:
        chunk_size = self._datastore.settings.insert_chunk_size
        for number, chunk in enumerate(_chunks(documents, chunk_size)):
            if number:
                self.commit_log.renew(claim)
            self._events.insert_many(chunk, ordered=True)

    def _remove_uncommitted(self, claim: Claim) -> None:
        """Delete documents above the head left by older slots, and our own.

        Committed documents above our base can only come from newer slots, so a
        writer that was replaced without knowing it cannot destroy its successor's
        work.
        """
        with translated_errors():
            self._events.delete_many(
                {"_id": {"$gt": Int64(claim.base.hwm)}, "slot": {"$lt": Int64(claim.slot)}}
            )
        self._remove_own(claim)

    def _remove_own(self, claim: Claim) -> None:
        with translated_errors():
            self._events.delete_many(
                {"_id": {"$gt": Int64(claim.base.hwm)}, "writer": claim.writer}
            )

    def _conflicts_with_committed(self, claim: Claim, stored_events: Sequence[StoredEvent]) -> bool:
        versions: dict[object, list[int]] = {}
        for event in stored_events:
            versions.setdefault(event.originator_id, []).append(event.originator_version)
        with translated_errors():
            clash = self._events.find_one(
                {
                    "_id": {"$lte": Int64(claim.base.hwm)},
                    "$or": [
                        {"originator_id": originator_id, "originator_version": {"$in": vs}}
                        for originator_id, vs in versions.items()
                    ],
                },
                {"_id": 1},
            )
        return clash is not None

    def _abandon(self, claim: Claim, *, remove_own: bool) -> None:
        """Undo what a failed save left behind, as far as the database still answers."""
        try:
            if remove_own:
                self._remove_own(claim)
            self.commit_log.abandon(claim)
        except OperationalError:
            pass  # Invisible above the head; the next colliding writer removes it.

    def listen(self, event: threading.Event) -> None:
        with self._listeners_lock:
            self._listeners.add(event)

    def unlisten(self, event: threading.Event) -> None:
        with self._listeners_lock:
            self._listeners.discard(event)

    def _wake_listeners(self) -> None:
        with self._listeners_lock:
            for listener in self._listeners:
                listener.set()


def _refuse_duplicates_within(stored_events: Sequence[StoredEvent]) -> None:
    keys = {(e.originator_id, e.originator_version) for e in stored_events}
    if len(keys) != len(stored_events):
        msg = "The same originator id and version appear twice in one save"
        raise IntegrityError(msg)


def _check_tracking(claim: Claim, tracking: Tracking | None) -> None:
    if tracking is None:
        return
    current = claim.tracking_position(tracking.application_name)
    if current is not None and tracking.notification_id <= current:
        msg = (
            f"Tracking position {tracking.notification_id} of "
            f"'{tracking.application_name}' is not after the recorded {current}"
        )
        raise IntegrityError(msg)


def _chunks(items: list[Document], size: int) -> Iterable[list[Document]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
