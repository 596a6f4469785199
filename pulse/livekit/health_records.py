"""Region health in Redis: each region's latest check, and a bounded history of checks.

- ``<prefix>region-health:<code>``: the latest check, which ``selection`` reads to fail
  over. It expires after a few intervals, so a worker that stopped checking leaves no
  verdict behind: an old "unhealthy" would keep projects on their backup forever, an
  old "healthy" would hide an outage.
- ``<prefix>region-health-history:<code>``: a list of checks, newest first, trimmed to
  about a day's worth; it expires a day after the last check was added.
- ``<prefix>region-health-stats:<code>``: the figures over that history, refreshed
  each round, with the history's lifetime.

Reads never fail on Redis: without it there is no evidence, which callers show as
"unknown" (and ``selection`` treats as healthy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from pulse.livekit.health import RegionCheck
from pulse.livekit.health_stats import RegionStats
from pulse.livekit.selection import health_key
from pulse.logging import get_logger

log = get_logger(__name__)

LATEST_TTL_INTERVALS = 3
HISTORY_WINDOW_SECONDS = 24 * 3600
MIN_HISTORY_LENGTH = 10
MAX_HISTORY_LENGTH = 10_000  # A 1 s interval keeps under 3 h rather than 86,400 checks.


def history_key(key_prefix: str, code: str) -> str:
    return f"{key_prefix}region-health-history:{code}"


def stats_key(key_prefix: str, code: str) -> str:
    return f"{key_prefix}region-health-stats:{code}"


@dataclass(frozen=True)
class Retention:
    latest_ttl_seconds: int
    history_length: int
    history_ttl_seconds: int


def retention_for(interval_seconds: int) -> Retention:
    """How long the records live when the worker checks every ``interval_seconds``."""
    length = HISTORY_WINDOW_SECONDS // max(interval_seconds, 1)
    return Retention(
        # Two missed rounds are tolerated; a third means no one is checking.
        latest_ttl_seconds=LATEST_TTL_INTERVALS * interval_seconds,
        history_length=min(max(length, MIN_HISTORY_LENGTH), MAX_HISTORY_LENGTH),
        history_ttl_seconds=HISTORY_WINDOW_SECONDS,
    )


async def record(
    redis: Redis, key_prefix: str, checks: Mapping[str, RegionCheck], retention: Retention
) -> None:
    """Store one round of checks: one round trip for every region."""
    pipe = redis.pipeline(transaction=False)
    for code, check in checks.items():
        raw = check.to_json()
        history = history_key(key_prefix, code)
        pipe.set(health_key(key_prefix, code), raw, ex=retention.latest_ttl_seconds)
        pipe.lpush(history, raw)
        pipe.ltrim(history, 0, retention.history_length - 1)
        pipe.expire(history, retention.history_ttl_seconds)
    await pipe.execute()


def _unavailable(error: Exception) -> None:
    log.warning("region_health_unreadable", error=type(error).__name__)


async def _get_each(redis: Redis, keys: list[str]) -> list[bytes | None]:
    """The values of ``keys`` in one round trip; all None when Redis cannot say."""
    try:
        values: list[bytes | None] = await redis.mget(keys)
    except (RedisError, OSError) as error:
        _unavailable(error)
        return [None] * len(keys)
    return values


async def latest(
    redis: Redis, key_prefix: str, codes: Iterable[str]
) -> dict[str, RegionCheck | None]:
    """Each region's latest check, None where there is none (or Redis cannot say)."""
    codes = list(codes)
    raws = await _get_each(redis, [health_key(key_prefix, code) for code in codes])
    return {
        code: None if raw is None else RegionCheck.from_json(raw)
        for code, raw in zip(codes, raws, strict=True)
    }


async def histories(
    redis: Redis, key_prefix: str, codes: Iterable[str], limit: int | None = None
) -> dict[str, list[RegionCheck]]:
    """Each region's kept checks, newest first (at most ``limit``); empty if unreadable."""
    codes = list(codes)
    stop = -1 if limit is None else limit - 1
    pipe = redis.pipeline(transaction=False)
    for code in codes:
        pipe.lrange(history_key(key_prefix, code), 0, stop)
    try:
        results: list[list[bytes]] = await pipe.execute()
    except (RedisError, OSError) as error:
        _unavailable(error)
        return {code: [] for code in codes}
    return {
        code: [check for raw in raws if (check := RegionCheck.from_json(raw)) is not None]
        for code, raws in zip(codes, results, strict=True)
    }


async def record_stats(
    redis: Redis, key_prefix: str, stats: Mapping[str, RegionStats], retention: Retention
) -> None:
    pipe = redis.pipeline(transaction=False)
    for code, figures in stats.items():
        pipe.set(stats_key(key_prefix, code), figures.to_json(), ex=retention.history_ttl_seconds)
    await pipe.execute()


async def read_stats(
    redis: Redis, key_prefix: str, codes: Iterable[str]
) -> dict[str, RegionStats | None]:
    """Each region's figures, None where there are none (or Redis cannot say)."""
    codes = list(codes)
    raws = await _get_each(redis, [stats_key(key_prefix, code) for code in codes])
    return {
        code: None if raw is None else RegionStats.from_json(raw)
        for code, raw in zip(codes, raws, strict=True)
    }
