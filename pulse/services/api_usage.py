"""Counting API requests per project and UTC hour in Redis, and flushing them as events.

A request adds one to the field ``<project id>:<YYYY-MM-DDTHH>`` of the pending hash:
the hour is the one the request was served in, so a late flush still bills the right
bucket. Flushing follows pulse.services.counter_batches: a crash between recording a
batch and deleting it records the batch again, and ``ApiUsage`` ids (uuid5 over
project, hour and batch) collide instead of counting twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from redis.asyncio import Redis

from pulse.domain.api_usage import ApiUsage
from pulse.domain.context import CommandContext
from pulse.domain.metering import hour_of
from pulse.logging import get_logger
from pulse.services.application import PulseApplication
from pulse.services.clock import utc_now
from pulse.services.counter_batches import CounterBatches

log = get_logger(__name__)

FLUSH_CONTEXT = CommandContext.system("api-usage-flush")
API_REQUESTS = CounterBatches("usage:api")
_HOUR_FORMAT = "%Y-%m-%dT%H"


def counter_field(project_id: UUID, hour: datetime) -> str:
    return f"{project_id}:{hour_of(hour):{_HOUR_FORMAT}}"


def parse_field(field: str) -> tuple[UUID, datetime]:
    project, _, hour = field.partition(":")
    return UUID(project), datetime.strptime(hour, _HOUR_FORMAT).replace(tzinfo=UTC)


async def count_api_request(
    redis: Redis, prefix: str, project_id: UUID, at: datetime | None = None
) -> None:
    """One request served for ``project_id`` (best effort: never fails the request)."""
    await API_REQUESTS.increment(redis, prefix, counter_field(project_id, at or utc_now()))


def record_batch(app: PulseApplication, batch: str, counts: dict[str, int]) -> int:
    """Record one batch as ``ApiUsage.Counted`` events; returns how many were new."""
    counted: list[tuple[UUID, datetime, int]] = []
    for field, count in counts.items():
        try:
            project_id, hour = parse_field(field)
        except ValueError:
            # Not written by count_api_request; dropping it beats blocking every flush.
            log.warning("api_usage_field_skipped", field=field, batch=batch)
            continue
        if count > 0:
            counted.append((project_id, hour, count))

    def usage(project_id: UUID, hour: datetime, count: int) -> ApiUsage:
        return ApiUsage(
            project_id=project_id, hour=hour, count=count, batch=batch, context=FLUSH_CONTEXT
        )

    if not counted:
        return 0
    try:
        app.save(*(usage(*row) for row in counted))  # One atomic save in the usual case.
    except IntegrityError:
        pass  # An interrupted flush recorded part of this batch: record the rest one by one.
    else:
        return len(counted)
    recorded = 0
    for row in counted:
        # New aggregates: a failed save has already taken the pending events of the old.
        try:
            app.save(usage(*row))
        except IntegrityError:
            continue
        recorded += 1
    return recorded


async def flush_api_usage(redis: Redis, prefix: str, app: PulseApplication) -> int:
    """Record every pending and left-over batch; returns the ``Counted`` events recorded."""
    return await API_REQUESTS.flush(
        redis, prefix, lambda batch, counts: record_batch(app, batch, counts)
    )
