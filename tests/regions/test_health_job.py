"""The region health check and the worker job, against the real LiveKit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest
from redis.asyncio import Redis

from pulse.config import Settings
from pulse.livekit import health_records
from pulse.livekit.gateway import LiveKitGateway
from pulse.livekit.health import RegionCheck, check_all
from pulse.livekit.regions import CATALOG
from pulse.livekit.selection import health_key, is_healthy
from pulse.workers.context import SETTINGS_KEY, JobContext
from pulse.workers.lifecycle import shutdown, startup
from pulse.workers.region_jobs import check_regions, check_timeout, region_health_cron
from tests.api.servers import free_port
from tests.regions.conftest import forget_keys

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def endpoint(url: str, secret: str = "secret") -> dict[str, str]:
    return {"url": url, "api_key": "devkey", "api_secret": secret}


@pytest.fixture
async def redis(region_settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(region_settings.redis_url)
    yield client
    await client.aclose()


async def run_job(settings: Settings) -> dict[str, bool]:
    """``check_regions`` in a worker context as ``pulse worker`` builds it."""
    ctx: JobContext = {SETTINGS_KEY: settings}
    await startup(ctx)
    try:
        return await check_regions(ctx)
    finally:
        await shutdown(ctx)


async def checks_of(settings: Settings) -> dict[str, RegionCheck]:
    gateway = LiveKitGateway(settings)
    try:
        async with httpx.AsyncClient() as http:
            return await check_all(gateway, http, 2.0)
    finally:
        await gateway.aclose()


async def test_every_region_is_healthy_on_the_local_livekit(region_settings: Settings) -> None:
    checks = await checks_of(region_settings)

    assert set(checks) == set(CATALOG)
    for check in checks.values():
        assert check.healthy, check
        assert check.error is None
        assert 0 < check.latency_ms < 2000
    # Six regions on one deployment: one check, shared.
    assert len({id(check) for check in checks.values()}) == 1


async def test_a_region_on_a_closed_port_is_unhealthy(
    make_settings: Callable[..., Settings],
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(livekit_regions={"eu-west": endpoint(dead)})

    checks = await checks_of(settings)

    assert not checks["eu-west"].healthy
    assert checks["eu-west"].error == "ConnectError"  # The class, never the address.
    assert checks["eu-west"].latency_ms < 2000
    assert all(check.healthy for code, check in checks.items() if code != "eu-west")


async def test_wrong_credentials_make_a_running_region_unhealthy(
    make_settings: Callable[..., Settings], region_settings: Settings
) -> None:
    settings = make_settings(
        livekit_regions={"us-west": endpoint(region_settings.livekit_url, "not-the-secret")}
    )

    checks = await checks_of(settings)

    assert not checks["us-west"].healthy
    assert checks["us-west"].error is not None
    assert checks["us-west"].error.startswith("RoomService answered HTTP 401")
    assert checks["us-east"].healthy


async def test_the_job_records_health_with_a_ttl_and_keeps_history(
    region_settings: Settings, redis: Redis
) -> None:
    prefix = region_settings.redis_key_prefix

    assert await run_job(region_settings) == dict.fromkeys(CATALOG, True)
    await run_job(region_settings)

    raw = await redis.get(health_key(prefix, "eu-west"))
    assert raw is not None
    record = json.loads(raw)
    assert record["healthy"] is True
    assert record["latency_ms"] > 0
    assert record["checked_at"]
    ttl = await redis.ttl(health_key(prefix, "eu-west"))
    assert 0 < ttl <= 3 * region_settings.region_health_interval_seconds
    assert await redis.llen(health_records.history_key(prefix, "eu-west")) == 2
    assert await redis.ttl(health_records.history_key(prefix, "eu-west")) > 0
    assert await is_healthy(redis, prefix, "eu-west")


async def test_the_job_records_a_dead_region_as_unhealthy_and_failed_over(
    make_settings: Callable[..., Settings], redis: Redis
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(livekit_regions={"asia-south": endpoint(dead)})
    try:
        result = await run_job(settings)

        assert result["asia-south"] is False
        assert result["asia-southeast"] is True
        latest = await health_records.latest(redis, settings.redis_key_prefix, CATALOG)
        down = latest["asia-south"]
        assert down is not None
        assert not down.healthy
        assert down.failed_over  # Its backup, asia-southeast, was up in the same round.
        assert not await is_healthy(redis, settings.redis_key_prefix, "asia-south")
    finally:
        forget_keys(settings.redis_key_prefix)


async def test_history_is_trimmed_to_its_length(region_settings: Settings, redis: Redis) -> None:
    prefix = region_settings.redis_key_prefix
    retention = health_records.Retention(
        latest_ttl_seconds=90, history_length=3, history_ttl_seconds=600
    )
    for latency in (1.0, 2.0, 3.0, 4.0, 5.0):
        check = RegionCheck(True, latency, checked_at=datetime.now(UTC))
        await health_records.record(redis, prefix, {"us-east": check}, retention)

    kept = (await health_records.histories(redis, prefix, ["us-east"]))["us-east"]

    assert [check.latency_ms for check in kept] == [5.0, 4.0, 3.0]  # Newest first.


async def test_unreadable_redis_means_no_evidence() -> None:
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    try:
        assert await health_records.latest(dead, "p:", ["us-east"]) == {"us-east": None}
        assert await health_records.histories(dead, "p:", ["us-east"]) == {"us-east": []}
    finally:
        await dead.aclose()


def test_retention_follows_the_interval() -> None:
    every_30s = health_records.retention_for(30)
    assert every_30s.latest_ttl_seconds == 90
    assert every_30s.history_length == 2880  # A day of checks.
    assert health_records.retention_for(1).history_length == health_records.MAX_HISTORY_LENGTH
    assert health_records.retention_for(86_400).history_length == 10


def test_the_schedule_is_every_interval(make_settings: Callable[..., Settings]) -> None:
    every_30s = region_health_cron(make_settings(region_health_interval_seconds=30))
    assert every_30s.second == {0, 30}
    assert every_30s.minute is None
    assert every_30s.run_at_startup
    assert every_30s.unique

    every_2min = region_health_cron(make_settings(region_health_interval_seconds=120))
    assert every_2min.second == {0}
    assert every_2min.minute == set(range(0, 60, 2))

    assert check_timeout(make_settings(region_health_interval_seconds=2)) == 2.0
    assert check_timeout(make_settings(region_health_interval_seconds=30)) == 5.0
