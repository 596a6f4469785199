"""``rm_usage_buckets``: each project's usage per UTC hour, day and month, in raw units.

A batched projection (``PageWriter``): usage is a ledger that replays millions of
events, so a page of events is folded in memory and written once. Every
contribution (``usage_events.contributions_of``) goes to its hour's, day's and
month's documents:

    _id = "<project_id>:<granularity>:<start %Y-%m-%dT%H>"
    project_id, granularity ("hour" | "day" | "month"), start (UTC), period ("YYYY-MM"),
    participant_ms, egress_ms, ingress_ms, storage_bytes, bandwidth_bytes, api_requests,
    applied_through

Counters are not idempotent by themselves, so each document remembers
``applied_through``, the highest notification id already folded into it. A flush
adds only contributions of later notifications: a page replayed after a crash (with
the same or other boundaries, flushed whole or in part) changes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from pymongo import ReplaceOne
from pymongo.collection import Collection
from pymongo.database import Database

from pulse.domain.metering import RAW_FIELDS, Contribution, day_of, month_of, period_of
from pulse.domain.usage_events import USAGE_TOPICS, contributions_of
from pulse.projections.collections import USAGE_BUCKETS, USAGE_REDO
from pulse.projections.model import Document, Projection

HOUR, DAY, MONTH = "hour", "day", "month"
GRANULARITIES = (HOUR, DAY, MONTH)


_UPDATES_PER_COMMAND = 50
"""FerretDB 1.24 never answers an ``update`` command of 100 statements or more."""


class UsageWriteConflictError(RuntimeError):
    """A bucket changed under the writer: another runner wrote while this one held the lock."""


def bucket_id(project_id: UUID | str, granularity: str, start: datetime) -> str:
    return f"{project_id}:{granularity}:{start:%Y-%m-%dT%H}"


def bucket_starts(hour: datetime) -> tuple[tuple[str, datetime], ...]:
    """The buckets an hour's usage counts in: its hour, its day, its month."""
    return ((HOUR, hour), (DAY, day_of(hour)), (MONTH, month_of(hour)))


def empty_bucket(project_id: UUID | str, granularity: str, start: datetime) -> Document:
    return {
        "_id": bucket_id(project_id, granularity, start),
        "project_id": str(project_id),
        "granularity": granularity,
        "start": start,
        "period": period_of(start),
        **dict.fromkeys(RAW_FIELDS, 0),
        "applied_through": 0,
    }


@dataclass
class _Pending:
    """What a page adds to one bucket, per notification (for the ``applied_through`` guard)."""

    project_id: str
    granularity: str
    start: datetime
    additions: list[tuple[int, str, int]] = field(default_factory=list)
    """(notification id, raw field, quantity), in notification order."""

    def folded_into(self, stored: Document | None) -> Document | None:
        """``stored`` (or a new bucket) with the additions it has not seen; None if none."""
        through = 0 if stored is None else int(stored.get("applied_through", 0))
        due = [addition for addition in self.additions if addition[0] > through]
        if not due:
            return None
        document = (
            empty_bucket(self.project_id, self.granularity, self.start)
            if stored is None
            else dict(stored)
        )
        for _, raw_field, quantity in due:
            document[raw_field] = int(document.get(raw_field, 0)) + quantity
        document["applied_through"] = due[-1][0]
        return document


class UsageWriter:
    """The ``usage`` projection's ``PageWriter``: buffers contributions, writes per page."""

    def __init__(self, database: Database[Document]) -> None:
        self.buckets: Collection[Document] = database[USAGE_BUCKETS]
        self._pending: dict[str, _Pending] = {}

    def apply(self, notification_id: int, event: Any) -> None:
        for contribution in contributions_of(event):
            self.add(notification_id, contribution)

    def add(self, notification_id: int, contribution: Contribution) -> None:
        raw_field = contribution.meter.raw_field
        project = str(contribution.project_id)
        for granularity, start in bucket_starts(contribution.hour):
            key = bucket_id(project, granularity, start)
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = _Pending(project, granularity, start)
            pending.additions.append((notification_id, raw_field, contribution.quantity))

    def folded(self) -> tuple[list[Document], list[tuple[Document, int]]]:
        """The page folded into the stored buckets: (new buckets, (changed bucket, its
        stored ``applied_through``)). One read of every touched bucket."""
        if not self._pending:
            return [], []
        ids = list(self._pending)
        stored = {doc["_id"]: doc for doc in self.buckets.find({"_id": {"$in": ids}})}
        created: list[Document] = []
        changed: list[tuple[Document, int]] = []
        for key, pending in self._pending.items():
            before = stored.get(key)
            document = pending.folded_into(before)
            if document is None:
                continue  # Replayed: every addition is in the bucket already.
            if before is None:
                created.append(document)
            else:
                changed.append((document, int(before.get("applied_through", 0))))
        return created, changed

    def flush(self) -> None:
        created, changed = self.folded()
        self.write(created, changed)
        self._pending.clear()

    def write(self, created: list[Document], changed: list[tuple[Document, int]]) -> None:
        """Insert the new buckets in one round trip, then replace the changed ones.

        Inserts, not upserts: FerretDB reads a whole collection for an upsert (and for
        every replacement: ``changed`` costs one collection scan per bucket). Each
        replacement is guarded by the ``applied_through`` it was computed from; one
        that matches nothing means another runner wrote meanwhile (the lock was
        broken), and the page must be replayed rather than counted twice.
        """
        if created:
            self.buckets.insert_many(created, ordered=False)
        replacements = [
            ReplaceOne({"_id": document["_id"], "applied_through": through}, document)
            for document, through in changed
        ]
        matched = 0
        for first in range(0, len(replacements), _UPDATES_PER_COMMAND):
            batch = replacements[first : first + _UPDATES_PER_COMMAND]
            matched += self.buckets.bulk_write(batch, ordered=False).matched_count
        if matched != len(changed):
            raise UsageWriteConflictError(
                f"{len(changed) - matched} usage buckets changed during the flush"
            )


_REDO_ID = "redo"
MAX_CACHED_BUCKETS = 1_000_000
"""Beyond this many buckets in memory a replay goes back to reading and replacing."""


class ReplayingUsageWriter(UsageWriter):
    """``UsageWriter`` with a fast path for replays (rebuilds, a first catch-up).

    If the bucket collection is empty at the run's first flush, every bucket in it
    is written by this writer, so it keeps them all in memory and reads nothing; a
    page's changed buckets are rewritten with one ``delete_many`` and one
    ``insert_many`` instead of one guarded replacement each. On FerretDB each of
    those commands scans the collection, so this turns a replay's cost from
    quadratic into linear (``benchmarks/replay.py``: a 1,000,000-event store in
    minutes instead of many hours). A redo record, written before the pair and
    removed after it, lets the next writer finish a pair a crash cut in two. A
    reader may miss a bucket between the two commands, as it does anyway while a
    rebuild fills an emptied read model.
    """

    def __init__(self, database: Database[Document]) -> None:
        super().__init__(database)
        self.redo: Collection[Document] = database[USAGE_REDO]
        self.cache: dict[str, Document] = {}
        self.owns_all: bool | None = None
        """The collection holds nothing this writer did not write (decided at the first
        flush)."""

    def _first_flush(self) -> None:
        unfinished = self.redo.find_one({"_id": _REDO_ID})
        if unfinished is not None:  # A writer died between the delete and the insert.
            self._rewrite(list(unfinished["documents"]))
        self.owns_all = self.buckets.find_one({}, {"_id": 1}) is None

    def _rewrite(self, documents: list[Document]) -> None:
        """Replace ``documents`` in two commands, redo-logged so a crash loses none."""
        self.redo.replace_one(
            {"_id": _REDO_ID}, {"_id": _REDO_ID, "documents": documents}, upsert=True
        )
        self.buckets.delete_many({"_id": {"$in": [d["_id"] for d in documents]}})
        self.buckets.insert_many(documents, ordered=False)
        self.redo.delete_one({"_id": _REDO_ID})

    def flush(self) -> None:
        if self.owns_all is None:
            self._first_flush()
        if not self.owns_all or len(self.cache) > MAX_CACHED_BUCKETS:
            self.owns_all = False
            super().flush()
            return
        created: list[Document] = []
        changed: list[Document] = []
        for key, pending in self._pending.items():
            before = self.cache.get(key)
            document = pending.folded_into(before)
            if document is not None:
                (created if before is None else changed).append(document)
        if created:
            self.buckets.insert_many(created, ordered=False)
        if changed:
            self._rewrite(changed)
        for document in (*created, *changed):
            self.cache[document["_id"]] = document
        self._pending.clear()


PROJECTION = Projection(
    name="usage",
    collections=(USAGE_BUCKETS, USAGE_REDO),
    writer=ReplayingUsageWriter,
    writer_topics=USAGE_TOPICS,
)
