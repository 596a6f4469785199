"""A generated store of usage: many sessions (and some egress, ingress and API counts)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate

from pulse.domain.metering import Meter, period_bounds
from pulse.services.application import PulseApplication
from tests.usage.factories import api_counted, published_ingress, recorded_egress, stay

_MS = timedelta(milliseconds=1)


@dataclass
class Generated:
    usage: dict[UUID, Counter[Meter]] = field(default_factory=dict)
    """Raw usage inside the period, per project, computed apart from the code under test."""
    events: int = 0


def _inside(start: datetime, end: datetime, period: str) -> int:
    """Whole ms of [start, end) inside the period (times are whole ms, so exact)."""
    low, high = period_bounds(period)
    return max(0, (min(end, high) - max(start, low)) // _MS)


def generate(
    app: PulseApplication,
    projects: list[UUID],
    period: str,
    sessions: int,
    seed: int = 7,
    batch: int = 100,
    days: int | None = None,
) -> Generated:
    """Save ``sessions`` stays (some across hour, day and period boundaries) spread over
    ``projects``, plus an egress, an ingress period and API counts per project, in
    saves of ``batch`` aggregates.

    Stays start from a day before the period to a day after it, so some straddle its
    ends; with ``days``, in the period's first ``days`` days (and the day before) only,
    except every 50th, which straddles the period's end.
    """
    generator = random.Random(seed)
    low, high = period_bounds(period)
    span_ms = (high - low + timedelta(days=2)) // _MS
    if days is not None:
        span_ms = timedelta(days=days + 1) // _MS
    result = Generated(usage={project: Counter() for project in projects})
    pending: list[Aggregate] = []

    def save(aggregate: Aggregate) -> None:
        result.events += len(aggregate.pending_events)
        pending.append(aggregate)
        if len(pending) >= batch:
            app.save(*pending)
            pending.clear()

    for index in range(sessions):
        project = projects[index % len(projects)]
        joined = low - timedelta(days=1) + generator.randrange(span_ms) * _MS
        if days is not None and index % 50 == 49:
            joined = high - timedelta(hours=1) + generator.randrange(3_600_000) * _MS
        left = joined + generator.randrange(1, 3 * 3_600_000) * _MS
        save(stay(project, joined, left))
        result.usage[project][Meter.PARTICIPANT_MINUTES] += _inside(joined, left, period)
    for number, project in enumerate(projects):
        started = low + timedelta(days=3, hours=number, minutes=17, milliseconds=5)
        ended = started + timedelta(minutes=95, seconds=number)
        written = 1_500_000_000 + number
        save(recorded_egress(project, started, ended, file_bytes=written, hls_bytes=number))
        usage = result.usage[project]
        usage[Meter.EGRESS_MINUTES] += _inside(started, ended, period)
        usage[Meter.STORAGE_GB] += written + number
        usage[Meter.BANDWIDTH_GB] += written + number
        save(published_ingress(project, started, ended - timedelta(minutes=1)))
        usage[Meter.INGRESS_MINUTES] += _inside(started, ended - timedelta(minutes=1), period)
        for hour in range(0, 48, 5):
            count = 100 * (hour + 1) + number
            save(api_counted(project, low + timedelta(hours=hour, minutes=3), count))
            usage[Meter.API_REQUESTS] += count
    if pending:
        app.save(*pending)
    return result
