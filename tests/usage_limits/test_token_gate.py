"""The Free plan's hard stop: a Free project at its participant-minute limit gets 402
for new tokens, until the period ends or the plan changes; others are unaffected."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from pymongo import AsyncMongoClient
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from pulse.domain.metering import Meter, period_bounds, period_of
from pulse.projections import usage
from pulse.projections.collections import USAGE_BUCKETS
from pulse.projections.runner import catch_up
from pulse.projections.store import read_model_database
from pulse.services.clock import utc_now
from pulse.services.usage_gate import (
    UsageLimitReachedError,
    ensure_tokens_allowed,
    gate_key,
)
from tests.conftest import MONGO_URI, REDIS_URL
from tests.management.conftest import world_on
from tests.management.world import World
from tests.usage_limits.usage_world import MINUTE, put_month_usage, stay


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with world_on() as built:
        yield built


@pytest.fixture(scope="module")
def keys(world: World) -> dict[str, str]:
    """Keys of project A, of another project of A's organization, and of B's project."""
    sibling = world.new_project(world.organization_a)
    secrets = {
        "a": world.new_key_secret(world.project_a, "owner"),
        "sibling": world.new_key_secret(sibling, "owner"),
        "b": world.new_key_secret(world.project_b, "outsider"),
    }
    world.settle()
    return secrets


def mint(world: World, secret: str) -> Any:
    return world.client.post(
        "/v1/tokens/create",
        json={"room": "standup", "identity": "alice"},
        headers={"X-Pulse-Key": secret},
    )


def set_plan(world: World, plan: str) -> None:
    response = world.client.put(
        f"/v1/organizations/{world.organization_a}",
        json={"plan": plan},
        headers=world.headers("owner"),
    )
    assert response.status_code == 200, response.text
    world.settle()  # The gate reads the plan from the organizations read model.


def use(world: World, project_id: UUID, minutes_ms: int) -> None:
    put_month_usage(
        read_model_database(world.app),
        project_id,
        utc_now(),
        {Meter.PARTICIPANT_MINUTES: minutes_ms},
    )


def forget_decision(world: World, project_id: UUID) -> None:
    with Redis.from_url(REDIS_URL) as redis:
        redis.delete(gate_key(world.settings.redis_key_prefix, project_id, period_of(utc_now())))


def test_a_free_project_over_its_minutes_gets_402_until_the_plan_changes(
    world: World, keys: dict[str, str]
) -> None:
    use(world, world.project_a, 1000 * MINUTE - 1)
    assert mint(world, keys["a"]).status_code == 201  # Just under: still fine.
    forget_decision(world, world.project_a)

    use(world, world.project_a, 1000 * MINUTE)  # Reached: the minutes are used up.
    refused = mint(world, keys["a"])
    assert refused.status_code == 402, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    _, ends = period_bounds(period_of(utc_now()))
    ends_text = ends.isoformat().replace("+00:00", "Z")
    assert problem["type"] == "/problems/usage-limit-reached"
    assert problem["title"] == "Usage limit reached"
    assert problem["status"] == 402
    assert "1000 participant minutes" in problem["detail"]
    assert ends_text in problem["detail"]
    assert problem["meter"] == "participant_minutes"
    assert problem["limit"] == "1000"
    assert problem["period"] == period_of(utc_now())
    assert problem["period_ends_at"].replace("+00:00", "Z") == ends_text

    # Other projects, of the same organization or another, are unaffected.
    assert mint(world, keys["sibling"]).status_code == 201
    assert mint(world, keys["b"]).status_code == 201

    # An upgrade lifts the stop on the next request (the plan is never cached)...
    set_plan(world, "pro")
    assert mint(world, keys["a"]).status_code == 201
    # ... and going back to Free brings it back.
    set_plan(world, "free")
    assert mint(world, keys["a"]).status_code == 402


def test_participant_stays_lead_to_the_stop(world: World, keys: dict[str, str]) -> None:
    """Driven by events: a Free project's stays, through the usage projection."""
    project = world.new_project(world.organization_a)
    secret = world.new_key_secret(project, "owner")
    world.settle()
    start, _ = period_bounds(period_of(utc_now()))
    stay(world.app, project, start, start + timedelta(minutes=600))
    stay(world.app, project, start, start + timedelta(minutes=399, seconds=59, milliseconds=999))
    database = read_model_database(world.app)
    catch_up(usage.PROJECTION, world.app, database, world.settings)
    assert mint(world, secret).status_code == 201  # One millisecond short.
    forget_decision(world, project)
    stay(world.app, project, start, start + timedelta(milliseconds=1))
    catch_up(usage.PROJECTION, world.app, database, world.settings)
    refused = mint(world, secret)
    assert refused.status_code == 402, refused.text
    assert refused.json()["type"] == "/problems/usage-limit-reached"
    assert mint(world, keys["sibling"]).status_code == 201


def test_the_decision_is_cached_per_period(world: World, keys: dict[str, str]) -> None:
    use(world, world.project_a, 1200 * MINUTE)
    forget_decision(world, world.project_a)
    assert mint(world, keys["a"]).status_code == 402
    use(world, world.project_a, 0)
    # Within usage_gate_cache_seconds the decision stands without reading usage again.
    assert mint(world, keys["a"]).status_code == 402
    with Redis.from_url(REDIS_URL) as redis:
        key = gate_key(world.settings.redis_key_prefix, world.project_a, period_of(utc_now()))
        assert redis.get(key) == b"over"
        ttl = redis.pttl(key)
        assert 0 < ttl <= world.settings.usage_gate_cache_seconds * 1000
    forget_decision(world, world.project_a)
    assert mint(world, keys["a"]).status_code == 201


def test_the_stop_ends_with_the_period(world: World) -> None:
    """Usage at the limit this period; the first moment of the next one is fine."""
    use(world, world.project_a, 1000 * MINUTE)
    now = utc_now()
    _, next_period = period_bounds(period_of(now))

    async def gate(moment: Any) -> None:
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(MONGO_URI)
        redis = AsyncRedis.from_url(REDIS_URL)
        try:
            await ensure_tokens_allowed(
                mongo[world.settings.mongo_database],
                redis,
                world.settings.redis_key_prefix,
                0,  # No caching: judge from the read models alone.
                world.project_a,
                world.organization_a,
                moment,
            )
        finally:
            await redis.aclose()
            await mongo.close()

    with pytest.raises(UsageLimitReachedError) as refused:
        asyncio.run(gate(next_period - timedelta(milliseconds=1)))
    assert refused.value.ends_at == next_period
    asyncio.run(gate(next_period))  # A new period: nothing used yet.
    database = read_model_database(world.app)
    assert database[USAGE_BUCKETS].count_documents({"project_id": str(world.project_a)}) == 1
