"""One round of region health: check every region, record it, refresh the figures."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from redis.asyncio import Redis

from pulse.livekit import health_records
from pulse.livekit.gateway import LiveKitGateway
from pulse.livekit.health import RegionCheck, check_all, with_failovers
from pulse.livekit.health_stats import stats_of


async def record_round(
    redis: Redis, key_prefix: str, checks: Mapping[str, RegionCheck], interval_seconds: int
) -> None:
    """Keep a round's checks and refresh each region's figures over its history."""
    retention = health_records.retention_for(interval_seconds)
    await health_records.record(redis, key_prefix, checks, retention)
    # Once a round here, rather than on every request to the status routes.
    kept = await health_records.histories(redis, key_prefix, checks)
    stats = {code: stats_of(history) for code, history in kept.items()}
    await health_records.record_stats(redis, key_prefix, stats, retention)


async def run_round(
    gateway: LiveKitGateway,
    http: httpx.AsyncClient,
    redis: Redis,
    key_prefix: str,
    interval_seconds: int,
    time_limit: float,
) -> dict[str, RegionCheck]:
    checks = await check_all(gateway, http, time_limit)
    backups = {code: region.info.backup for code, region in gateway.regions.items()}
    checks = with_failovers(checks, backups)
    await record_round(redis, key_prefix, checks, interval_seconds)
    return checks
