"""API requests made for a project, counted in Redis and recorded one batch at a time.

Every request is metered, so one event per request would double the writes of every
call. Instead each request increments a counter under its project and UTC hour, and
the worker records the counts as one ``Counted`` event per project, hour and flushed
batch (see pulse.services.api_usage).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.metering import hour_of

_API_USAGE_NAMESPACE = UUID("8d4b2f61-0c7e-4a93-b5d8-2e6f1a9c7b40")


def api_usage_id(project_id: UUID, hour: datetime, batch: str) -> UUID:
    """One record per (project, hour, batch): recording a batch twice collides."""
    return uuid5(_API_USAGE_NAMESPACE, f"{project_id}:{hour_of(hour):%Y-%m-%dT%H}:{batch}")


class ApiUsage(Aggregate):
    @staticmethod
    def create_id(project_id: UUID, hour: datetime, batch: str) -> UUID:
        return api_usage_id(project_id, hour, batch)

    @event("Counted")
    def __init__(
        self,
        project_id: UUID,
        hour: datetime,
        count: int,
        batch: str,
        context: CommandContext,
    ) -> None:
        self.project_id = project_id
        self.hour = hour
        self.count = count
        self.batch = batch
