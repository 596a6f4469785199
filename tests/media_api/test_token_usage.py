"""Minting counts tokens per project; the worker records them as events in batches,
and neither a crash mid-flush nor a second flush counts a token twice."""

from __future__ import annotations

import asyncio
from uuid import UUID

from redis.asyncio import Redis

from pulse.domain.token_usage import TokenUsage
from pulse.services.token_usage import flush_token_usage, record_batch
from tests.conftest import REDIS_URL
from tests.management.world import World


def recorded_counts(world: World, project_id: UUID) -> int:
    total = 0
    for notification in world.app.recorder.select_notifications(None, 10_000):
        if notification.topic.endswith("TokenUsage.Counted"):
            event = world.app.mapper.to_domain_event(notification)
            if event.project_id == project_id:  # type: ignore[attr-defined]
                total += event.count  # type: ignore[attr-defined]
    return total


def test_minted_tokens_are_recorded_once_in_batches(world: World) -> None:
    secret = world.new_key_secret(world.project_a)
    world.settle()
    before = recorded_counts(world, world.project_a)
    for n in range(5):
        assert (
            world.client.post(
                "/v1/tokens/create",
                json={"room": "counted", "identity": f"user-{n}"},
                headers={"X-Pulse-Key": secret},
            ).status_code
            == 201
        )

    async def flush_twice() -> tuple[int, int]:
        redis = Redis.from_url(REDIS_URL)
        try:
            prefix = world.settings.redis_key_prefix
            return (
                await flush_token_usage(redis, prefix, world.app),
                await flush_token_usage(redis, prefix, world.app),
            )
        finally:
            await redis.aclose()

    first, second = asyncio.run(flush_twice())
    assert first >= 1
    assert second == 0  # Nothing new: the first flush consumed every count.
    assert recorded_counts(world, world.project_a) == before + 5


def test_a_batch_recorded_again_after_a_crash_is_not_counted_twice(world: World) -> None:
    counts = {world.project_b: 3}
    assert record_batch(world.app, "crashed-batch", counts) == 1
    # The worker died before deleting the batch: the next flush records it again.
    assert record_batch(world.app, "crashed-batch", counts) == 0
    usage = world.app.repository.get(
        TokenUsage.create_id(project_id=world.project_b, batch="crashed-batch")
    )
    assert usage.count == 3
