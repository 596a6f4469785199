"""Catching a projection up with the notification log, and rebuilding it from scratch.

A run takes the projection's lock (or returns at once if another runner holds it:
that runner will see the new events), reads the log in pages after the recorded
position, applies each event it has a handler for, and records the position after
each page. It keeps reading until a page comes back empty, and after releasing
the lock it looks once more: an event committed while it was finishing, whose
wake-up found the lock busy, is then picked up by this run rather than left for
the schedule.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from eventsourcing.persistence import IntegrityError, Notification, Tracking
from eventsourcing.utils import TopicError
from pymongo.collection import Collection
from pymongo.database import Database

from pulse.config import Settings
from pulse.eventstore.application_recorder import MongoApplicationRecorder
from pulse.eventstore.tracking_recorder import _COLLECT_EVERY as TRACKING_COLLECT_EVERY
from pulse.eventstore.tracking_recorder import MongoTrackingRecorder
from pulse.logging import get_logger
from pulse.projections.collections import LOCKS
from pulse.projections.lock import ProjectionLock, ProjectionLockLostError
from pulse.projections.model import Document, Projection
from pulse.projections.options import ProjectionSettings
from pulse.projections.registry import PROJECTIONS
from pulse.projections.store import newest_notification_id, tracking_recorder
from pulse.services.application import PulseApplication

log = get_logger(__name__)


# FerretDB v1 binds one SQLite variable per document a delete removes, and SQLite
# allows 32,766: a read model of more documents is emptied in chunks.
_DELETE_CHUNK = 30_000


def empty(collection: Collection[Document]) -> None:
    """Delete every document of ``collection``, at most ``_DELETE_CHUNK`` per command."""
    while ids := [d["_id"] for d in collection.find({}, {"_id": 1}).limit(_DELETE_CHUNK)]:
        collection.delete_many({"_id": {"$in": ids}})


@dataclass(frozen=True, slots=True)
class CatchUpResult:
    name: str
    position: int
    """The notification id the projection has read up to, after the run."""
    applied: int = 0
    """Events handed to a handler during the run (replays included)."""
    read: int = 0
    """Notifications read during the run, handled or skipped."""
    busy: bool = False
    """Another runner held the lock, so this run did nothing."""


class ProjectionsFailedError(Exception):
    """One or more projections failed; the others were still run."""


class _Run:
    """One projection's run: the lock, the tracking recorder and the counts."""

    def __init__(
        self,
        projection: Projection,
        app: PulseApplication,
        database: Database[Document],
        tracking: MongoTrackingRecorder,
        options: ProjectionSettings,
    ) -> None:
        self.projection = projection
        self.app = app
        self.database = database
        self.tracking = tracking
        self.options = options
        self.lock = ProjectionLock(
            database[LOCKS], projection.name, stale_after=options.lock_stale_seconds
        )
        self.applied = 0
        self.read = 0
        # The end of the last page applied: the recorded position, unless recording
        # it failed because it was recorded already.
        self.reached = 0
        self.writer = projection.writer(database) if projection.writer else None

    def position(self) -> int:
        return self.tracking.max_tracking_id(self.projection.name) or 0

    def result(self, *, busy: bool = False) -> CatchUpResult:
        return CatchUpResult(
            self.projection.name, self.position(), self.applied, self.read, busy=busy
        )

    def _page_limit(self, position: int) -> int:
        # The tracking recorder deletes old position documents only when one at a
        # multiple of its interval is recorded; ending a page on each such multiple
        # keeps the tracking collection (scanned by every read on FerretDB) small.
        boundary = (position // TRACKING_COLLECT_EVERY + 1) * TRACKING_COLLECT_EVERY
        return min(self.options.page_size, boundary - position)

    def drain(self) -> None:
        """Apply pages until the log has nothing newer; the lock must be held."""
        position = self.reached = self.position()
        while True:
            page = self.app.recorder.select_notifications(
                position, self._page_limit(position), inclusive_of_start=False
            )
            if not page:
                return
            for notification in page:
                self.apply(notification)
            self.read += len(page)
            position = page[-1].id
            self.record(position)

    def apply(self, notification: Notification) -> None:
        """Hand one notification to its handler and/or the writer, if it has any."""
        topic = notification.topic
        handler = self.projection.handler_for(topic)
        writes = self.writer is not None and self.projection.writes_topic(topic)
        if handler is None and not writes:
            return  # Not ours, or a kind of event newer than this code.
        try:
            event = self.app.mapper.to_domain_event(notification)
        except TopicError:
            if handler is not None:
                raise
            # A writer of every topic (the audit log) meets events whose class is
            # gone from this code; skipping them is all it can do.
            log.warning("projection_topic_unknown", projection=self.projection.name, topic=topic)
            return
        try:
            if handler is not None:
                handler(self.database, event)
            if writes and self.writer is not None:
                self.writer.apply(notification.id, event)
        except Exception:
            log.exception(
                "projection_event_failed",
                projection=self.projection.name,
                notification_id=notification.id,
                topic=topic,
            )
            raise
        self.applied += 1

    def record(self, position: int) -> None:
        """Flush the writer's page, then record ``position`` and renew the lock."""
        name = self.projection.name
        if self.writer is not None:
            self.writer.flush()
        self.reached = position
        try:
            self.tracking.insert_tracking(Tracking(application_name=name, notification_id=position))
        except IntegrityError:
            # Recorded already: by a runner that overlapped ours after a lock
            # break, which on FerretDB can also leave the recorder's "latest"
            # behind. The page is applied either way (handlers are idempotent);
            # whether we may go on is the lock's to say.
            log.warning("projection_position_already_recorded", projection=name, position=position)
        self.lock.renew()

    def stream_all(self) -> None:
        """Replay the whole log in one pass (a batched projection's rebuild).

        Positions are recorded every ``page_size`` events (on multiples of the
        tracking recorder's interval, see ``_page_limit``), as pages would be.
        """
        recorder = self.app.recorder
        if not isinstance(recorder, MongoApplicationRecorder):
            raise TypeError("projections need the MongoDB event store (PERSISTENCE_MODULE)")
        every = max(1, self.options.page_size // TRACKING_COLLECT_EVERY) * TRACKING_COLLECT_EVERY
        self.reached = last = self.position()
        for notification in recorder.stream_notifications(after=last):
            self.apply(notification)
            self.read += 1
            last = notification.id
            if last % every == 0:
                self.record(last)
        if last > self.reached:
            self.record(last)

    def drain_then_release(self, *, stream: bool = False) -> bool:
        """``drain`` (or ``stream_all``) under the held lock, then release it; False if
        the lock was lost."""
        try:
            if stream:
                self.stream_all()
            else:
                self.drain()
        except ProjectionLockLostError as error:
            log.warning("projection_lock_lost", projection=self.projection.name, error=str(error))
            return False
        finally:
            self.lock.release()
        return True

    def catch_up(self) -> CatchUpResult:
        while True:
            if not self.lock.try_acquire():
                return self.result(busy=True)
            if not self.drain_then_release():
                return self.result()
            # Compared with what this run applied, not with the recorded position:
            # that one may lag (see drain), and would make this loop forever.
            if newest_notification_id(self.app) <= self.reached:
                return self.result()

    def rebuild(self) -> CatchUpResult:
        self.lock.acquire(self.options.rebuild_lock_wait_seconds)
        try:
            for collection in self.projection.collections:
                # Documents only: the indexes (migration 0002) stay.
                empty(self.database[collection])
            self.tracking.forget(self.projection.name)
        except BaseException:
            self.lock.release()
            raise
        log.info("projection_rebuild_started", projection=self.projection.name)
        if not self.drain_then_release(stream=self.writer is not None):
            return self.result()
        return self.catch_up()


def _run(
    projection: Projection,
    app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings | None,
    *,
    rebuild: bool,
) -> CatchUpResult:
    started = time.perf_counter()
    run = _Run(
        projection,
        app,
        database,
        tracking_recorder(app, settings),
        options or ProjectionSettings(),
    )
    result = run.rebuild() if rebuild else run.catch_up()
    if result.read or rebuild:
        log.info(
            "projection_rebuilt" if rebuild else "projection_caught_up",
            projection=projection.name,
            position=result.position,
            applied=result.applied,
            read=result.read,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
    return result


def catch_up(
    projection: Projection,
    app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings | None = None,
) -> CatchUpResult:
    """Apply every event after the projection's position; at once if it is busy."""
    return _run(projection, app, database, settings, options, rebuild=False)


def rebuild(
    projection: Projection,
    app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings | None = None,
) -> CatchUpResult:
    """Empty the projection's collections, forget its position and replay from 0.

    Waits for a running catch-up (``ProjectionBusyError`` after
    ``rebuild_lock_wait_seconds``). Readers see the read model empty, then filling.
    """
    return _run(projection, app, database, settings, options, rebuild=True)


def catch_up_all(
    app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings | None = None,
    projections: tuple[Projection, ...] = PROJECTIONS,
    *,
    stop: threading.Event | None = None,
) -> list[CatchUpResult]:
    """Catch every projection up; one failing does not stop the others.

    ``stop``, once set, ends the pass before the next projection (a stopping worker).

    Raises ``ProjectionsFailedError`` (chained to the first failure) after running
    them all if any failed.
    """
    options = options or ProjectionSettings()
    results: list[CatchUpResult] = []
    failures: list[tuple[str, Exception]] = []
    for projection in projections:
        if stop is not None and stop.is_set():
            break
        try:
            results.append(catch_up(projection, app, database, settings, options))
        except Exception as error:
            log.exception("projection_failed", projection=projection.name)
            failures.append((projection.name, error))
    if failures:
        names = ", ".join(name for name, _ in failures)
        raise ProjectionsFailedError(f"projections failed: {names}") from failures[0][1]
    return results
