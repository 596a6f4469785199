"""Catch-up-then-follow subscriptions over the application sequence.

FerretDB v1 has no change streams and MongoDB's need a replica set, so a
subscription polls the committed head (one small document) and pulls new
notifications when it moves; commits made by this process wake it at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import structlog
from eventsourcing.persistence import ListenNotifySubscription, PersistenceError

if TYPE_CHECKING:
    from pulse.eventstore.application_recorder import MongoApplicationRecorder

log = structlog.get_logger(__name__)


class MongoSubscription(ListenNotifySubscription["MongoApplicationRecorder"]):
    def __init__(
        self,
        recorder: MongoApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        self._poll_stopped = threading.Event()
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._recorder.listen(self._has_been_notified)
        self._poll_interval = recorder.datastore.settings.poll_interval
        self._poll_thread = threading.Thread(target=self._poll_head, daemon=True)
        self._poll_thread.start()

    def _poll_head(self) -> None:
        seen: int | None = None
        while not self._poll_stopped.is_set():
            try:
                head = self._recorder.max_notification_id()
            except PersistenceError as error:
                log.warning("eventstore.subscription_poll_failed", error=str(error))
            else:
                if head != seen:
                    seen = head
                    self._has_been_notified.set()
            self._poll_stopped.wait(self._poll_interval)

    def stop(self) -> None:
        self._poll_stopped.set()
        self._recorder.unlisten(self._has_been_notified)
        super().stop()

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._poll_thread.join()
