"""Requests for a project are counted per UTC hour and recorded as ``ApiUsage`` events
by the flush, exactly once, even when a flush crashed before deleting its batch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID

from redis import Redis as SyncRedis
from redis.asyncio import Redis

from pulse.domain.metering import hour_of
from pulse.services.api_usage import (
    API_REQUESTS,
    counter_field,
    flush_api_usage,
    parse_field,
    record_batch,
)
from pulse.services.clock import utc_now
from tests.conftest import REDIS_URL
from tests.management.world import World

COUNTED = "pulse.domain.api_usage:ApiUsage.Counted"


def recorded(world: World, project_id: UUID) -> dict[datetime, int]:
    """Requests recorded per hour for the project, from the event store alone."""
    totals: dict[datetime, int] = {}
    for notification in world.app.recorder.select_notifications(None, 100_000, topics=[COUNTED]):
        event = world.app.mapper.to_domain_event(notification)
        if event.project_id == project_id:  # type: ignore[attr-defined]
            hour = event.hour  # type: ignore[attr-defined]
            totals[hour] = totals.get(hour, 0) + event.count  # type: ignore[attr-defined]
    return totals


def pending(world: World) -> dict[str, int]:
    with SyncRedis.from_url(REDIS_URL) as redis:
        raw = redis.hgetall(API_REQUESTS.pending_key(world.settings.redis_key_prefix))
    return {key.decode(): int(value) for key, value in raw.items()}


def flush(world: World) -> int:
    async def run() -> int:
        redis = Redis.from_url(REDIS_URL)
        try:
            return await flush_api_usage(redis, world.settings.redis_key_prefix, world.app)
        finally:
            await redis.aclose()

    return asyncio.run(run())


def test_requests_for_a_project_are_counted_and_others_are_not(world: World) -> None:
    flush(world)  # Start from nothing pending (the world's setup made requests).
    secret = world.new_key_secret(world.project_a)
    world.settle()  # A key is found through the read model.
    started = utc_now()
    client = world.client
    for _ in range(3):  # The owner, on the project's routes.
        assert (
            client.get(
                f"/v1/projects/{world.project_a}", headers=world.headers("owner")
            ).status_code
            == 200
        )
    for _ in range(2):  # The project's key, on any route.
        assert client.get("/v1/auth/whoami", headers={"X-Pulse-Key": secret}).status_code == 200
    # Not counted: a user's route without a project, another organization's project
    # (404 to the owner), an outsider asking for project A, no credentials at all.
    assert client.get("/v1/auth/whoami", headers=world.headers("owner")).status_code == 200
    assert (
        client.get(f"/v1/projects/{world.project_b}", headers=world.headers("owner")).status_code
        == 404
    )
    assert (
        client.get(f"/v1/projects/{world.project_a}", headers=world.headers("outsider")).status_code
        == 404
    )
    assert client.get(f"/v1/projects/{world.project_a}").status_code == 401

    counts = pending(world)
    # Counted under the hour each request arrived in (normally one, two at a turn).
    hours = {parse_field(field)[1] for field in counts if field.startswith(str(world.project_a))}
    assert hours <= {hour_of(started), hour_of(utc_now())}
    assert sum(n for field, n in counts.items() if field.startswith(str(world.project_a))) == 5
    assert not any(field.startswith(str(world.project_b)) for field in counts)


def test_a_flush_records_the_exact_counts_as_events(world: World) -> None:
    flush(world)
    before_a, before_b = recorded(world, world.project_a), recorded(world, world.project_b)
    secret = world.new_key_secret(world.project_b, who="outsider")
    world.settle()
    for _ in range(4):
        assert (
            world.client.get("/v1/auth/whoami", headers={"X-Pulse-Key": secret}).status_code == 200
        )
    assert (
        world.client.get(
            f"/v1/projects/{world.project_b}", headers=world.headers("outsider")
        ).status_code
        == 200
    )

    assert flush(world) >= 1
    assert flush(world) == 0  # The first flush consumed every count.
    after_b = recorded(world, world.project_b)
    assert sum(after_b.values()) - sum(before_b.values()) == 5
    assert recorded(world, world.project_a) == before_a
    assert all(hour.tzinfo is not None and hour.minute == 0 for hour in after_b)


def test_a_batch_left_by_a_crashed_flush_is_not_counted_twice(world: World) -> None:
    flush(world)
    prefix = world.settings.redis_key_prefix
    hour = datetime(2026, 1, 31, 23, tzinfo=UTC)
    counts = {counter_field(world.project_a, hour): 7, counter_field(world.project_b, hour): 2}
    # A flush renamed its batch and recorded it, then died before deleting the key.
    with SyncRedis.from_url(REDIS_URL) as redis:
        redis.hset(API_REQUESTS.batch_key(prefix, "crashed"), mapping=counts)
    assert record_batch(world.app, "crashed", counts) == 2
    assert flush(world) == 0  # The next flush finds the batch: every record collides.
    assert recorded(world, world.project_a)[hour] == 7
    assert recorded(world, world.project_b)[hour] == 2


def test_a_batch_recorded_in_part_before_a_crash_is_completed_once(world: World) -> None:
    flush(world)
    prefix = world.settings.redis_key_prefix
    hour = datetime(2026, 2, 1, 0, tzinfo=UTC)
    counts = {counter_field(world.project_a, hour): 11, counter_field(world.project_b, hour): 5}
    with SyncRedis.from_url(REDIS_URL) as redis:
        redis.hset(API_REQUESTS.batch_key(prefix, "half-done"), mapping=counts)
    # Only project A's count made it into the store before the crash.
    assert record_batch(world.app, "half-done", {counter_field(world.project_a, hour): 11}) == 1
    assert flush(world) == 1  # Project B's, and only it.
    assert recorded(world, world.project_a)[hour] == 11
    assert recorded(world, world.project_b)[hour] == 5
    assert pending(world) == {}
