"""Failover: ``serving_region`` on recorded health, and on a real failed check."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from pulse.config import Settings
from pulse.livekit import health_records
from pulse.livekit.availability import availability_of
from pulse.livekit.gateway import LiveKitGateway
from pulse.livekit.regions import CATALOG
from pulse.livekit.selection import health_key, serving_region
from pulse.workers.context import SETTINGS_KEY, JobContext
from pulse.workers.lifecycle import shutdown, startup
from pulse.workers.region_jobs import check_regions
from tests.api.servers import free_port
from tests.regions.conftest import forget_keys
from tests.regions.support import all_regions, record_async

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def redis(region_settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(region_settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def gateway(region_settings: Settings) -> AsyncIterator[LiveKitGateway]:
    livekit = LiveKitGateway(region_settings)
    yield livekit
    await livekit.aclose()


async def test_a_down_primary_with_a_healthy_backup_fails_over(
    region_settings: Settings, redis: Redis, gateway: LiveKitGateway
) -> None:
    await record_async(redis, region_settings, all_regions(eu_west=False))

    serving = await serving_region(gateway, redis, region_settings.redis_key_prefix, "eu-west")

    assert serving.region.code == "eu-central"
    assert serving.failed_over_from == "eu-west"


async def test_primary_and_backup_both_down_stays_on_the_primary(
    region_settings: Settings, redis: Redis, gateway: LiveKitGateway
) -> None:
    await record_async(redis, region_settings, all_regions(eu_west=False, eu_central=False))

    serving = await serving_region(gateway, redis, region_settings.redis_key_prefix, "eu-west")

    assert serving.region.code == "eu-west"
    assert serving.failed_over_from is None


async def test_a_healthy_or_unchecked_primary_serves_itself(
    region_settings: Settings, redis: Redis, gateway: LiveKitGateway
) -> None:
    prefix = region_settings.redis_key_prefix
    assert (await serving_region(gateway, redis, prefix, "us-east")).region.code == "us-east"

    await record_async(redis, region_settings, all_regions())

    assert (await serving_region(gateway, redis, prefix, "us-east")).failed_over_from is None


async def test_an_expired_check_no_longer_decides(
    region_settings: Settings, redis: Redis, gateway: LiveKitGateway
) -> None:
    prefix = region_settings.redis_key_prefix
    await record_async(redis, region_settings, all_regions(us_west=False))
    assert (await serving_region(gateway, redis, prefix, "us-west")).region.code == "us-east"

    # What the TTL does once the worker stops checking.
    await redis.delete(health_key(prefix, "us-west"))

    assert (await serving_region(gateway, redis, prefix, "us-west")).region.code == "us-west"


async def test_a_region_on_a_closed_port_fails_over_after_a_real_check(
    make_settings: Callable[..., Settings], redis: Redis
) -> None:
    dead = {"url": f"http://127.0.0.1:{free_port()}", "api_key": "devkey", "api_secret": "secret"}
    settings = make_settings(livekit_regions={"eu-west": dead})
    ctx: JobContext = {SETTINGS_KEY: settings}
    await startup(ctx)
    gateway = LiveKitGateway(settings)
    try:
        await check_regions(ctx)

        serving = await serving_region(gateway, redis, settings.redis_key_prefix, "eu-west")

        assert serving.region.code == "eu-central"
        assert serving.failed_over_from == "eu-west"
        assert serving.region.websocket_url == "ws://127.0.0.1:7880"
    finally:
        await gateway.aclose()
        await shutdown(ctx)
        forget_keys(settings.redis_key_prefix)


async def test_the_status_view_agrees_with_serving_region(
    region_settings: Settings, redis: Redis, gateway: LiveKitGateway
) -> None:
    """``availability_of`` mirrors the selection rule, for every state of a pair."""
    prefix = region_settings.redis_key_prefix
    states = (True, False, None)  # Up, down, no check.
    for primary, backup in itertools.product(states, states):
        await redis.delete(*(health_key(prefix, code) for code in CATALOG))
        recorded = {
            code: up
            for code, up in (("eu-west", primary), ("eu-central", backup))
            if up is not None
        }
        if recorded:
            await record_async(redis, region_settings, recorded)
        latest = await health_records.latest(redis, prefix, CATALOG)

        serving = await serving_region(gateway, redis, prefix, "eu-west")

        assert availability_of("eu-west", latest).serving == serving.region.code, recorded
