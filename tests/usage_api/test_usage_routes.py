"""The usage routes over HTTP: shapes and exact figures, every role reads, outsiders
get 404, bad queries 422, the on-demand check raises each alert once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from pulse.domain.metering import Meter, period_of
from pulse.projections import usage_alerts
from pulse.projections.runner import catch_up
from pulse.projections.store import read_model_database
from pulse.services.clock import utc_now
from tests.management.conftest import world_on
from tests.management.world import World
from tests.usage_limits.usage_world import MINUTE, put_bucket, put_month_usage

ROLES = ("owner", "admin", "developer", "viewer")
H = datetime(2026, 10, 5, 10, tzinfo=UTC)


def at(day: int, hour: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with world_on() as built:
        database = read_model_database(built.app)
        project = built.project_a
        # October 2026, as the usage projection stores it: hour, day and month buckets.
        put_bucket(database, project, "hour", at(5, 10), {Meter.PARTICIPANT_MINUTES: 90_000})
        put_bucket(
            database,
            project,
            "hour",
            at(5, 11),
            {Meter.PARTICIPANT_MINUTES: 30_000, Meter.API_REQUESTS: 3},
        )
        put_bucket(
            database,
            project,
            "hour",
            at(12, 8),
            {Meter.EGRESS_MINUTES: 600_000, Meter.STORAGE_GB: 1_500_000_000},
        )
        put_bucket(
            database,
            project,
            "day",
            at(5),
            {Meter.PARTICIPANT_MINUTES: 120_000, Meter.API_REQUESTS: 3},
        )
        put_bucket(
            database,
            project,
            "day",
            at(12),
            {Meter.EGRESS_MINUTES: 600_000, Meter.STORAGE_GB: 1_500_000_000},
        )
        put_bucket(
            database,
            project,
            "month",
            at(1),
            {
                Meter.PARTICIPANT_MINUTES: 120_000,
                Meter.API_REQUESTS: 3,
                Meter.EGRESS_MINUTES: 600_000,
                Meter.STORAGE_GB: 1_500_000_000,
            },
        )
        # Another project's usage never shows.
        put_bucket(database, built.project_b, "day", at(5), {Meter.PARTICIPANT_MINUTES: 7})
        yield built


def get(world: World, path: str, who: str = "viewer") -> Any:
    return world.client.get(f"/v1/usage/{world.project_a}{path}", headers=world.headers(who))


def ok(world: World, path: str, who: str = "viewer") -> dict[str, Any]:
    response = get(world, path, who)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_raw_buckets_are_the_stored_ones_with_exact_figures(world: World) -> None:
    body = ok(world, "?granularity=hour&from=2026-10-05T10:30:00Z&to=2026-10-06T00:00:00Z")
    assert body["project_id"] == str(world.project_a)
    assert body["granularity"] == "hour"
    assert moment(body["start"]) == at(5, 10)  # The bucket ``from`` falls in, whole.
    assert moment(body["end"]) == at(6)
    assert [moment(item["start"]) for item in body["items"]] == [at(5, 10), at(5, 11)]
    first, second = (item["usage"] for item in body["items"])
    assert first["participant_ms"] == 90_000
    assert first["participant_minutes"] == "1.500"
    assert first["api_requests"] == 0
    assert second == {
        "participant_ms": 30_000,
        "egress_ms": 0,
        "ingress_ms": 0,
        "storage_bytes": 0,
        "bandwidth_bytes": 0,
        "api_requests": 3,
        "participant_minutes": "0.500",
        "egress_minutes": "0.000",
        "ingress_minutes": "0.000",
        "storage_gb": "0.000",
        "bandwidth_gb": "0.000",
    }
    assert moment(body["items"][0]["end"]) == at(5, 11)

    month = ok(world, "?granularity=month&from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z")
    (october,) = month["items"]
    assert october["usage"]["egress_minutes"] == "10.000"
    assert october["usage"]["storage_gb"] == "1.500"
    # By default: the current period (nothing stored for it here).
    assert ok(world, "?granularity=day")["items"] == []


def test_the_aggregated_series_is_dense_with_totals(world: World) -> None:
    days = ok(
        world, "/aggregated?granularity=day&from=2026-10-04T00:00:00Z&to=2026-10-07T00:00:00Z"
    )
    assert [moment(p["start"]) for p in days["series"]] == [at(4), at(5), at(6)]
    assert [p["usage"]["participant_ms"] for p in days["series"]] == [0, 120_000, 0]
    assert days["totals"]["participant_minutes"] == "2.000"
    assert days["totals"]["api_requests"] == 3

    weeks = ok(
        world, "/aggregated?granularity=week&from=2026-10-01T00:00:00Z&to=2026-10-15T00:00:00Z"
    )
    assert [moment(p["start"]) for p in weeks["series"]] == [at(28, 0, 9), at(5), at(12)]
    assert [p["usage"]["participant_ms"] for p in weeks["series"]] == [0, 120_000, 0]
    assert [p["usage"]["egress_ms"] for p in weeks["series"]] == [0, 0, 600_000]
    assert moment(weeks["end"]) == at(19)

    months = ok(
        world, "/aggregated?granularity=month&from=2026-09-15T00:00:00Z&to=2026-11-01T00:00:00Z"
    )
    assert [moment(p["start"]) for p in months["series"]] == [at(1, 0, 9), at(1)]
    assert months["series"][1]["usage"]["storage_bytes"] == 1_500_000_000
    assert months["totals"]["egress_minutes"] == "10.000"

    hours = ok(
        world, "/aggregated?granularity=hour&from=2026-10-05T09:00:00Z&to=2026-10-05T12:00:00Z"
    )
    assert [p["usage"]["participant_ms"] for p in hours["series"]] == [0, 90_000, 30_000]
    assert hours["totals"]["participant_ms"] == 120_000


def test_the_summary_judges_the_period_against_the_plan(world: World) -> None:
    body = ok(world, "/summary?period=2026-10")
    assert body["period"] == "2026-10"
    assert moment(body["period_start"]) == at(1)
    assert moment(body["period_end"]) == at(1, 0, 11)
    assert body["plan"] == "free"
    assert body["organization_id"] == str(world.organization_a)
    assert body["alert_percent"] == 80
    assert body["usage"]["participant_minutes"] == "2.000"
    meters = {m["meter"]: m for m in body["meters"]}
    assert meters["participant_minutes"] == {
        "meter": "participant_minutes",
        "used": "2.000",
        "limit": "1000",
        "percent": "0.20",
        "status": "ok",
    }
    assert meters["storage_gb"]["percent"] == "150.00"
    assert meters["storage_gb"]["status"] == "exceeded"
    assert meters["ingress_minutes"]["limit"] is None
    current = ok(world, "/summary")
    assert current["period"] == period_of(utc_now())
    assert current["usage"]["participant_ms"] == 0


def test_check_limits_raises_each_alert_once_and_lists_it(world: World) -> None:
    database = read_model_database(world.app)
    put_month_usage(database, world.project_a, utc_now(), {Meter.EGRESS_MINUTES: 90 * MINUTE})
    path = f"/v1/usage/{world.project_a}/check-limits"
    first = world.client.post(path, headers=world.headers("viewer"))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["plan"] == "free"
    assert body["period"] == period_of(utc_now())
    egress = next(m for m in body["meters"] if m["meter"] == "egress_minutes")
    assert (egress["status"], egress["percent"]) == ("warning", "90.00")
    (raised,) = body["raised"]
    assert (raised["meter"], raised["level"], raised["used"], raised["limit"]) == (
        "egress_minutes",
        "threshold",
        "90.000",
        "100",
    )
    again = world.client.post(path, headers=world.headers("owner"))
    assert again.status_code == 200
    assert again.json()["raised"] == []

    catch_up(usage_alerts.PROJECTION, world.app, database, world.settings)
    listed = ok(world, "/alerts")
    assert listed["total"] == 1
    assert listed["items"][0]["id"] == raised["id"]
    assert listed["items"][0]["percent"] == "90.00"
    assert ok(world, f"/alerts?period={period_of(utc_now())}")["total"] == 1
    assert ok(world, "/alerts?period=2026-01")["total"] == 0


READS = (
    "?granularity=day",
    "/summary",
    "/aggregated?granularity=week",
    "/alerts",
)


@pytest.mark.parametrize("path", READS)
def test_every_role_reads_and_outsiders_learn_nothing(world: World, path: str) -> None:
    for who in ROLES:
        assert get(world, path, who).status_code == 200, who
    hidden = get(world, path, "outsider")
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
    assert world.client.get(f"/v1/usage/{world.project_a}{path}").status_code == 401


def test_every_role_may_check_limits_and_an_outsider_may_not(world: World) -> None:
    path = f"/v1/usage/{world.project_a}/check-limits"
    for who in ROLES:
        assert world.client.post(path, headers=world.headers(who)).status_code == 200, who
    assert world.client.post(path).status_code == 401
    assert world.client.post(path, headers=world.headers("outsider")).status_code == 404
    # Their own project is theirs to check.
    own = world.client.post(
        f"/v1/usage/{world.project_b}/check-limits", headers=world.headers("outsider")
    )
    assert own.status_code == 200, own.text


@pytest.mark.parametrize(
    "path",
    [
        "?granularity=minute",
        "/aggregated?granularity=year",
        "?from=2026-10-05T00:00:00Z&to=2026-10-04T00:00:00Z",
        "/aggregated?granularity=day&from=2026-10-05T00:00:00Z&to=2026-10-05T00:00:00Z",
        "/aggregated?granularity=hour&from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        "?from=yesterday",
        "/summary?period=2026-13",
        "/summary?period=2026-1",
        "/alerts?period=last-month",
        "/alerts?limit=0",
    ],
)
def test_bad_queries_are_422(world: World, path: str) -> None:
    response = get(world, path)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
