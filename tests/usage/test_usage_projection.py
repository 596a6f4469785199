"""The ``usage`` projection's writer on the real FerretDB: buckets, idempotent flushes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from pymongo.database import Database

from pulse.config import Settings
from pulse.domain.metering import RAW_FIELDS, Meter
from pulse.domain.usage_events import USAGE_TOPICS
from pulse.projections.collections import USAGE_BUCKETS, USAGE_REDO
from pulse.projections.model import Document
from pulse.projections.options import ProjectionSettings
from pulse.projections.runner import catch_up, rebuild
from pulse.projections.usage import (
    PROJECTION,
    ReplayingUsageWriter,
    UsageWriteConflictError,
    UsageWriter,
)
from pulse.queries.usage import buckets, period_usage
from pulse.services.application import PulseApplication
from tests.projections.support import raw_documents
from tests.usage.factories import api_counted, recorded_egress, stay
from tests.usage.generate import generate

PERIOD = "2026-10"
START = datetime(2026, 10, 1, tzinfo=UTC)

Page = Sequence[tuple[int, Any]]


def usage_events(app: PulseApplication) -> list[tuple[int, Any]]:
    """Every notification of the store with its decoded event (usage or not)."""
    notifications = app.recorder.select_notifications(1, 100_000)
    return [(n.id, app.mapper.to_domain_event(n)) for n in notifications]


def write_pages(
    database: Database[Document],
    events: Page,
    bounds: list[int],
    writer_class: type[UsageWriter] = UsageWriter,
) -> None:
    """One writer applying ``events`` in pages ending at ``bounds``, flushing each."""
    writer = writer_class(database)
    start = 0
    for end in [*bounds, len(events)]:
        for notification_id, event in events[start:end]:
            writer.apply(notification_id, event)
        writer.flush()
        start = end


def stored(database: Database[Document]) -> list[bytes]:
    return raw_documents(database, USAGE_BUCKETS)


@pytest.fixture
def events(pulse_app: PulseApplication) -> list[tuple[int, Any]]:
    projects = [uuid4(), uuid4()]
    generate(pulse_app, projects, PERIOD, sessions=150, batch=50)
    return usage_events(pulse_app)


def test_every_contribution_goes_to_its_hour_day_and_month(
    pulse_app: PulseApplication, database: Database[Document]
) -> None:
    project = uuid4()
    joined = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    pulse_app.save(
        stay(project, joined, joined + timedelta(hours=1)),
        api_counted(project, joined, 5),
    )
    write_pages(database, usage_events(pulse_app), [])

    hours = buckets(database, project, "hour", START, START + timedelta(days=62))
    assert [(b["start"], b["participant_ms"], b["api_requests"]) for b in hours] == [
        (joined.replace(minute=0), 1_800_000, 5),
        (datetime(2026, 11, 1, tzinfo=UTC), 1_800_000, 0),
    ]
    october = buckets(database, str(project), "month", START, START + timedelta(days=1))
    (month,) = october
    assert month["_id"] == f"{project}:month:2026-10-01T00"
    assert (month["project_id"], month["granularity"], month["period"]) == (
        str(project),
        "month",
        PERIOD,
    )
    assert {name: month[name] for name in RAW_FIELDS} == {
        "participant_ms": 1_800_000,
        "egress_ms": 0,
        "ingress_ms": 0,
        "storage_bytes": 0,
        "bandwidth_bytes": 0,
        "api_requests": 5,
    }
    # Notifications: 1 Joined, 2 Left, 3 Counted; October holds both usages.
    assert month["applied_through"] == 3
    days = buckets(database, project, "day", START, START + timedelta(days=62))
    assert [(b["start"].day, b["participant_ms"]) for b in days] == [
        (31, 1_800_000),
        (1, 1_800_000),
    ]
    assert period_usage(database, project, "2026-11")[Meter.PARTICIPANT_MINUTES] == 1_800_000
    assert period_usage(database, project, "2026-09") == dict.fromkeys(Meter, 0)


def test_overlapping_pages_with_other_boundaries_give_identical_buckets(
    database: Database[Document], events: list[tuple[int, Any]]
) -> None:
    write_pages(database, events, [])
    reference = stored(database)
    assert len(reference) > 100
    database[USAGE_BUCKETS].delete_many({})

    # A run flushes up to 40 and records its position; the next run dies after
    # flushing 41..130 without recording it; the one after replays from 40.
    write_pages(database, events[:130], [40])
    write_pages(database, events[40:], [7, 55, 56, 200])
    assert stored(database) == reference
    # Replaying everything again, in one page or many, changes nothing.
    write_pages(database, events, [1, 2, 3, 99])
    assert stored(database) == reference


def test_a_crash_between_two_buckets_writes_is_repaired_by_the_replay(
    database: Database[Document], events: list[tuple[int, Any]]
) -> None:
    write_pages(database, events, [])
    reference = stored(database)
    database[USAGE_BUCKETS].delete_many({})

    write_pages(database, events[:60], [])  # recorded position: 60
    crashing = UsageWriter(database)
    for notification_id, event in events[60:]:
        crashing.apply(notification_id, event)
    created, changed = crashing.folded()
    assert created
    assert len(changed) > 1
    # The runner dies after the first new bucket and the first changed one were written.
    crashing.write(created[:1], changed[:1])
    assert stored(database) != reference

    write_pages(database, events[60:], [13, 14, 90])
    assert stored(database) == reference


def test_a_bucket_changed_during_a_flush_is_refused_not_counted_twice(
    database: Database[Document], events: list[tuple[int, Any]]
) -> None:
    write_pages(database, events[:60], [])
    first, second = UsageWriter(database), UsageWriter(database)
    for writer in (first, second):
        for notification_id, event in events[60:]:
            writer.apply(notification_id, event)
    late = second.folded()
    first.flush()
    after_first = stored(database)

    with pytest.raises(UsageWriteConflictError):
        second.write([], late[1])
    # The guard let no changed bucket through (created ones would be duplicate keys).
    assert stored(database) == after_first


def test_the_runner_catches_up_and_a_rebuild_gives_identical_buckets(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    events: list[tuple[int, Any]],
) -> None:
    small_pages = ProjectionSettings(_env_file=None, page_size=25)
    assert PROJECTION.writer_topics == USAGE_TOPICS
    catch_up(PROJECTION, pulse_app, database, settings, small_pages)
    caught_up = stored(database)
    write_pages(database, events, [])  # Everything was applied already.
    assert stored(database) == caught_up

    database[USAGE_BUCKETS].update_one({}, {"$inc": {"participant_ms": 1}})
    assert stored(database) != caught_up
    rebuild(PROJECTION, pulse_app, database, settings)
    assert stored(database) == caught_up

    pulse_app.save(recorded_egress(uuid4(), START, START + timedelta(minutes=1), file_bytes=9))
    result = catch_up(PROJECTION, pulse_app, database, settings, small_pages)
    assert result.applied == 1  # Only the usage events are handed to the writer.


def test_a_flush_changing_hundreds_of_buckets_completes(
    pulse_app: PulseApplication, database: Database[Document]
) -> None:
    # FerretDB 1.24 hangs on an update command of 100+ statements: the writer splits.
    project = uuid4()
    hours = [START + timedelta(hours=h) for h in range(130)]
    pulse_app.save(*[api_counted(project, hour, 1) for hour in hours])
    pulse_app.save(*[api_counted(project, hour, 2) for hour in hours])
    events = usage_events(pulse_app)
    write_pages(database, events, [130])

    stored_hours = buckets(database, project, "hour", START, START + timedelta(days=31))
    assert [b["api_requests"] for b in stored_hours] == [3] * 130
    assert period_usage(database, project, PERIOD)[Meter.API_REQUESTS] == 390


def test_a_replay_into_an_empty_read_model_gives_the_same_buckets_as_the_guarded_path(
    database: Database[Document], events: list[tuple[int, Any]]
) -> None:
    write_pages(database, events, [10, 40, 41, 90])  # Guarded path, bucket by bucket.
    reference = stored(database)
    database[USAGE_BUCKETS].delete_many({})

    replaying = ReplayingUsageWriter(database)
    for start in range(0, len(events), 17):
        for notification_id, event in events[start : start + 17]:
            replaying.apply(notification_id, event)
        replaying.flush()

    assert replaying.owns_all is True
    assert stored(database) == reference
    assert database[USAGE_REDO].count_documents({}) == 0


def test_a_replay_cut_between_its_delete_and_its_insert_is_finished_by_the_next_writer(
    database: Database[Document], events: list[tuple[int, Any]], monkeypatch: Any
) -> None:
    write_pages(database, events, [])
    reference = stored(database)
    database[USAGE_BUCKETS].delete_many({})

    crashing = ReplayingUsageWriter(database)
    for notification_id, event in events[:60]:
        crashing.apply(notification_id, event)
    crashing.flush()
    for notification_id, event in events[60:]:
        crashing.apply(notification_id, event)

    insert_many = crashing.buckets.insert_many

    def dies_before_inserting(documents: list[Document], **options: Any) -> Any:
        if database[USAGE_REDO].count_documents({}) == 1:  # Inside the rewrite.
            raise RuntimeError("killed between delete_many and insert_many")
        return insert_many(documents, **options)

    monkeypatch.setattr(crashing.buckets, "insert_many", dies_before_inserting)
    with pytest.raises(RuntimeError, match="killed"):
        crashing.flush()
    assert database[USAGE_REDO].count_documents({}) == 1
    assert stored(database) != reference  # The changed buckets are gone for now.

    # The next run replays from the recorded position (60) with a fresh writer.
    write_pages(database, events[60:], [5, 70], ReplayingUsageWriter)
    assert stored(database) == reference
    assert database[USAGE_REDO].count_documents({}) == 0
