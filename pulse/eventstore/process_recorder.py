"""Process recorders: new events and the upstream position they answer, together.

Tracking positions are part of each commit-log seal, so the insert that makes a
process's new events visible also records how far upstream it has read: both
happen in one insert, or neither does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import ProcessRecorder, StoredEvent, Tracking

from pulse.eventstore.application_recorder import MongoApplicationRecorder


class MongoProcessRecorder(MongoApplicationRecorder, ProcessRecorder):
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        tracking: Tracking | None = kwargs.get("tracking")
        if not stored_events and tracking is None:
            return []
        return self.writer.write(stored_events, tracking)

    def insert_tracking(self, tracking: Tracking) -> None:
        self.writer.write([], tracking)

    def max_tracking_id(self, application_name: str) -> int | None:
        return self.writer.commit_log.latest().tracking_position(application_name)
