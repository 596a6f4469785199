"""Which events are usage and what each adds: the aggregates' usage events, and
``contributions_of`` (pure, no I/O)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from pulse.domain.api_usage import ApiUsage
from pulse.domain.egress import Egress, EgressStatus, Observation
from pulse.domain.ingress import Ingress, IngressStatus
from pulse.domain.metering import Contribution, Meter
from pulse.domain.participant_session import ParticipantSession
from pulse.domain.usage_events import USAGE_TOPICS, contributions_of
from pulse.services.application import PulseApplication
from tests.usage.factories import (
    API,
    LIVEKIT,
    api_counted,
    ingress_seen,
    new_egress,
    new_ingress,
    published_ingress,
    recorded_egress,
    results,
    stay,
)

PROJECT = uuid4()
T0 = datetime(2026, 3, 31, 23, 50, 0, 250_000, tzinfo=UTC)
H23 = datetime(2026, 3, 31, 23, tzinfo=UTC)
H00 = datetime(2026, 4, 1, 0, tzinfo=UTC)
H01 = datetime(2026, 4, 1, 1, tzinfo=UTC)


def events_named(aggregate: Aggregate, name: str) -> list[Any]:
    return [e for e in aggregate.collect_events() if type(e).__name__ == name]


def all_contributions(aggregate: Aggregate) -> list[Contribution]:
    return [c for e in aggregate.collect_events() for c in contributions_of(e)]


def test_usage_topics_are_the_four_usage_events() -> None:
    assert {
        get_topic(ParticipantSession.Left),  # type: ignore[attr-defined]
        get_topic(Egress.Metered),  # type: ignore[attr-defined]
        get_topic(Ingress.Metered),  # type: ignore[attr-defined]
        get_topic(ApiUsage.Counted),  # type: ignore[attr-defined]
    } == USAGE_TOPICS


def test_a_stay_across_midnight_counts_in_each_hour_it_touched() -> None:
    session = stay(PROJECT, T0, T0 + timedelta(minutes=75))
    (left,) = events_named(session, "Left")
    assert (left.project_id, left.joined_at) == (PROJECT, T0)

    assert contributions_of(left) == [
        Contribution(PROJECT, Meter.PARTICIPANT_MINUTES, H23, 9 * 60_000 + 59_750),
        Contribution(PROJECT, Meter.PARTICIPANT_MINUTES, H00, 3_600_000),
        Contribution(PROJECT, Meter.PARTICIPANT_MINUTES, H01, 5 * 60_000 + 250),
    ]


def test_the_hourly_pieces_always_add_up_to_the_sessions_duration() -> None:
    generator = random.Random(4)
    for _ in range(500):
        joined = T0 + timedelta(microseconds=generator.randrange(10**11))
        left_at = joined + timedelta(microseconds=generator.randrange(3 * 10**10))
        session = stay(PROJECT, joined, left_at)
        pieces = all_contributions(session)
        assert session.duration is not None
        assert sum(c.quantity for c in pieces) == int(session.duration * 1000)
        assert all(c.quantity > 0 for c in pieces)


def test_a_zero_length_stay_and_joined_only_add_nothing() -> None:
    assert all_contributions(stay(PROJECT, T0, T0 - timedelta(seconds=5))) == []


def test_a_completed_egress_meters_minutes_by_hour_and_bytes_where_it_ended_once() -> None:
    end = T0 + timedelta(minutes=20)
    egress = recorded_egress(PROJECT, T0, end, file_bytes=1_000, hls_bytes=234)
    events = egress.collect_events()
    assert [type(e).__name__ for e in events][-2:] == ["Updated", "Metered"]
    metered = events[-1]
    assert (metered.started_at, metered.ended_at) == (T0, end)
    assert (metered.storage_bytes, metered.bandwidth_bytes) == (1_234, 1_234)

    assert contributions_of(metered) == [
        Contribution(PROJECT, Meter.EGRESS_MINUTES, H23, 9 * 60_000 + 59_750),
        Contribution(PROJECT, Meter.EGRESS_MINUTES, H00, 10 * 60_000 + 250),
        Contribution(PROJECT, Meter.STORAGE_GB, H00, 1_234),
        Contribution(PROJECT, Meter.BANDWIDTH_GB, H00, 1_234),
    ]
    # Terminal: later reports (a redelivered egress_ended) add no second Metered.
    assert not egress.observe(Observation(EgressStatus.COMPLETE, 30, {}), LIVEKIT)
    assert not egress.record_lost(end, "gone", LIVEKIT)
    assert egress.collect_events() == []


def test_an_rtmp_only_egress_meters_minutes_and_no_bytes() -> None:
    egress = new_egress(PROJECT)
    egress.record_started("EG_1", Observation(EgressStatus.ACTIVE, 10, {"started_at": T0}), API)
    egress.observe(
        Observation(
            EgressStatus.COMPLETE,
            20,
            {"ended_at": T0 + timedelta(seconds=3), "results": results(streams=1)},
        ),
        LIVEKIT,
    )
    assert all_contributions(egress) == [
        Contribution(PROJECT, Meter.EGRESS_MINUTES, H23, 3_000),
    ]


def test_a_refused_egress_is_metered_with_nothing_used() -> None:
    egress = new_egress(PROJECT)
    egress.record_refused("unavailable", "no egress worker", T0, API)
    (metered,) = events_named(egress, "Metered")
    assert (metered.started_at, metered.ended_at, metered.storage_bytes) == (None, T0, 0)
    assert contributions_of(metered) == []


def test_an_egress_livekit_lost_is_metered_up_to_the_last_moment_known_running() -> None:
    egress = new_egress(PROJECT)
    egress.record_started("EG_1", Observation(EgressStatus.ACTIVE, 10, {"started_at": T0}), API)
    egress.observe(Observation(EgressStatus.ENDING, 20, {}), LIVEKIT)
    assert egress.record_lost(T0 + timedelta(minutes=1), "gone", LIVEKIT)
    assert all_contributions(egress) == [Contribution(PROJECT, Meter.EGRESS_MINUTES, H23, 60_000)]
    assert not egress.record_lost(T0 + timedelta(minutes=5), "again", LIVEKIT)
    assert events_named(egress, "Metered") == []


def test_a_failed_egress_without_times_meters_its_bytes_in_the_hour_of_the_event() -> None:
    egress = new_egress(PROJECT)
    egress.record_started("EG_1", Observation(EgressStatus.ACTIVE, 10, {}), API)
    egress.observe(Observation(EgressStatus.FAILED, 20, {"results": results(file_bytes=7)}), API)
    (metered,) = events_named(egress, "Metered")
    hour = metered.timestamp.replace(minute=0, second=0, microsecond=0)
    assert contributions_of(metered) == [
        Contribution(PROJECT, Meter.STORAGE_GB, hour, 7),
        Contribution(PROJECT, Meter.BANDWIDTH_GB, hour, 7),
    ]


def test_each_publishing_period_of_a_reusable_ingress_is_metered_once() -> None:
    ingress = new_ingress(PROJECT)
    first_end = T0 + timedelta(minutes=30)
    second = T0 + timedelta(hours=2)
    reports = [
        ingress_seen(IngressStatus.PUBLISHING, 5, T0, None),
        ingress_seen(IngressStatus.INACTIVE, 9, T0, first_end),
        # A redelivered end: stale, nothing new.
        ingress_seen(IngressStatus.INACTIVE, 9, T0, first_end),
        # Publishing again; LiveKit has not cleared the previous end yet.
        ingress_seen(IngressStatus.PUBLISHING, 12, second, first_end),
        ingress_seen(IngressStatus.PUBLISHING, 13, second, None),
        ingress_seen(IngressStatus.INACTIVE, 15, second, second + timedelta(seconds=90)),
    ]
    for report in reports:
        ingress.observe(report, LIVEKIT)
    metered = events_named(ingress, "Metered")
    assert [(m.started_at, m.ended_at) for m in metered] == [
        (T0, first_end),
        (second, second + timedelta(seconds=90)),
    ]
    assert [c for m in metered for c in contributions_of(m)] == [
        Contribution(PROJECT, Meter.INGRESS_MINUTES, H23, 9 * 60_000 + 59_750),
        Contribution(PROJECT, Meter.INGRESS_MINUTES, H00, 20 * 60_000 + 250),
        Contribution(PROJECT, Meter.INGRESS_MINUTES, H01, 90_000),
    ]


def test_an_ingress_deleted_while_publishing_is_metered_up_to_the_deletion() -> None:
    ingress = new_ingress(PROJECT)
    ingress.observe(ingress_seen(IngressStatus.PUBLISHING, 5, T0, None), LIVEKIT)
    ingress.delete(T0 + timedelta(seconds=42), API)
    metered = events_named(ingress, "Metered")
    assert [(m.started_at, m.ended_at) for m in metered] == [(T0, T0 + timedelta(seconds=42))]

    idle = published_ingress(PROJECT, T0, T0 + timedelta(seconds=1))
    idle.collect_events()
    idle.delete(T0 + timedelta(hours=1), API)
    assert events_named(idle, "Metered") == []  # Its one period was metered already.


def test_api_requests_count_in_their_hour() -> None:
    counted = api_counted(PROJECT, T0, 17)
    assert all_contributions(counted) == [Contribution(PROJECT, Meter.API_REQUESTS, H23, 17)]
    assert all_contributions(api_counted(PROJECT, T0, 0)) == []


def test_events_other_than_usage_add_nothing() -> None:
    egress = new_egress(PROJECT)
    assert all_contributions(egress) == []
    assert all_contributions(new_ingress(PROJECT)) == []


def test_contributions_are_the_same_after_the_store() -> None:
    app = PulseApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    aggregates: list[Aggregate] = [
        stay(PROJECT, T0, T0 + timedelta(minutes=75)),
        recorded_egress(PROJECT, T0, T0 + timedelta(minutes=3), file_bytes=5),
        published_ingress(PROJECT, T0, T0 + timedelta(minutes=2)),
        api_counted(PROJECT, T0, 3),
    ]
    expected = [c for a in aggregates for e in a.pending_events for c in contributions_of(e)]
    app.save(*aggregates)

    notifications = app.recorder.select_notifications(1, 100, topics=tuple(USAGE_TOPICS))
    stored = [c for n in notifications for c in contributions_of(app.mapper.to_domain_event(n))]
    assert stored == expected
    assert len(notifications) == 4
