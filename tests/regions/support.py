"""Recording region checks directly, as the worker's job would, for the route tests."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime

from redis.asyncio import Redis

from pulse.config import Settings
from pulse.livekit.health import RegionCheck, with_failovers
from pulse.livekit.health_round import record_round
from pulse.livekit.regions import CATALOG

BACKUPS = {code: info.backup for code, info in CATALOG.items()}


def check(healthy: bool, latency_ms: float = 5.0) -> RegionCheck:
    return RegionCheck(
        healthy=healthy,
        latency_ms=latency_ms,
        checked_at=datetime.now(UTC),
        error=None if healthy else "ConnectError",
    )


async def record_async(redis: Redis, settings: Settings, states: Mapping[str, bool]) -> None:
    checks = with_failovers({code: check(up) for code, up in states.items()}, BACKUPS)
    await record_round(
        redis, settings.redis_key_prefix, checks, settings.region_health_interval_seconds
    )


def record(settings: Settings, states: Mapping[str, bool]) -> None:
    """One round, recorded as the worker does, finding each region of ``states`` up or down."""

    async def main() -> None:
        redis = Redis.from_url(settings.redis_url)
        try:
            await record_async(redis, settings, states)
        finally:
            await redis.aclose()

    asyncio.run(main())


def all_regions(up: bool = True, **overrides: bool) -> dict[str, bool]:
    """Every region ``up``, except the ones named (with ``_`` for ``-``)."""
    states = dict.fromkeys(CATALOG, up)
    states.update({code.replace("_", "-"): value for code, value in overrides.items()})
    return states
