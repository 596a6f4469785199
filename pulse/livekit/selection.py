"""Which region serves a project right now: its own, or its backup while it is down.

The worker checks every region's LiveKit on a schedule and keeps the result in Redis
(``<prefix>region-health:<code>``: ``{"healthy": bool, "latency_ms": float,
"checked_at": iso}``). A region with no recorded check counts as healthy: failing
over needs evidence, not the absence of a check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from pulse.livekit.gateway import LiveKitGateway
from pulse.livekit.regions import Region


def health_key(key_prefix: str, code: str) -> str:
    return f"{key_prefix}region-health:{code}"


@dataclass(frozen=True)
class Serving:
    region: Region
    failed_over_from: str | None = None


async def is_healthy(redis: Redis, key_prefix: str, code: str) -> bool:
    try:
        raw = await redis.get(health_key(key_prefix, code))
    except RedisError:
        return True  # Without evidence, no failover.
    if raw is None:
        return True
    try:
        return bool(json.loads(raw).get("healthy", True))
    except ValueError:
        return True


async def serving_region(
    gateway: LiveKitGateway, redis: Redis, key_prefix: str, primary: str
) -> Serving:
    region = gateway.region(primary)
    if await is_healthy(redis, key_prefix, primary):
        return Serving(region)
    backup = gateway.region(region.info.backup)
    if await is_healthy(redis, key_prefix, backup.code):
        return Serving(backup, failed_over_from=primary)
    return Serving(region)  # Both down: the primary, and let LiveKit answer.
