"""Pure figures: great-circle distances, the nearest region, stats over a history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pulse.livekit.health import RegionCheck
from pulse.livekit.health_stats import stats_of
from pulse.livekit.nearest import distance_km, nearest

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_great_circle_distances() -> None:
    assert distance_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(
        343.6, abs=1
    )  # London-Paris
    assert distance_km(40.7128, -74.006, 51.5074, -0.1278) == pytest.approx(
        5570, abs=10
    )  # NY-London
    assert distance_km(10.0, 20.0, 10.0, 20.0) == 0
    # Across the antimeridian: the short way round.
    assert distance_km(0, 179.5, 0, -179.5) == pytest.approx(111.2, abs=0.5)


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        (48.8566, 2.3522, "eu-central"),  # Paris
        (53.35, -6.26, "eu-west"),  # Dublin
        (40.7128, -74.006, "us-east"),  # New York
        (37.7749, -122.4194, "us-west"),  # San Francisco
        (28.61, 77.21, "asia-south"),  # Delhi
        (35.68, 139.69, "asia-southeast"),  # Tokyo
        (-33.87, 151.21, "asia-southeast"),  # Sydney
    ],
)
def test_nearest_region(latitude: float, longitude: float, expected: str) -> None:
    found = nearest(latitude, longitude, lambda code: True)

    assert found.region.code == expected
    assert found.nearest_overall.code == expected


def test_nearest_passes_over_a_region_that_is_down() -> None:
    found = nearest(48.8566, 2.3522, lambda code: code != "eu-central")

    assert found.region.code == "eu-west"
    assert found.nearest_overall.code == "eu-central"
    assert found.distance_km == pytest.approx(780, abs=15)


def test_nearest_answers_the_nearest_when_every_region_is_down() -> None:
    assert nearest(48.8566, 2.3522, lambda code: False).region.code == "eu-central"


def check(minute: int, healthy: bool, latency: float, failed_over: bool = False) -> RegionCheck:
    return RegionCheck(healthy, latency, T0 + timedelta(minutes=minute), None, failed_over)


def test_stats_over_a_history() -> None:
    oldest_first = [
        check(0, True, 10.0),
        check(1, False, 2000.0, failed_over=True),
        check(2, False, 2000.0, failed_over=True),
        check(3, True, 30.0),
        check(4, False, 2000.0, failed_over=True),
        check(5, True, 20.0),
        check(6, False, 2000.0),  # Down with its backup: not a failover.
        check(7, True, 40.0),
    ]

    stats = stats_of(list(reversed(oldest_first)))

    assert stats.checks == 8
    assert stats.uptime_percent == 50.0
    assert stats.p50_latency_ms == 25.0  # Healthy checks only.
    assert stats.failovers == 2
    assert stats.since == T0


def test_stats_without_checks() -> None:
    stats = stats_of([])

    assert (stats.checks, stats.uptime_percent, stats.p50_latency_ms, stats.failovers) == (
        0,
        None,
        None,
        0,
    )


def test_a_record_that_does_not_parse_is_ignored() -> None:
    assert RegionCheck.from_json("{not json") is None
    assert RegionCheck.from_json('{"healthy": true}') is None
    round_trip = check(0, False, 1.5, failed_over=True)
    assert RegionCheck.from_json(round_trip.to_json()) == round_trip
