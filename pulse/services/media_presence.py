"""What reconciliation observed of rooms and sessions in LiveKit, kept in Redis.

Two facts per room or session, each a key with a time:

- ``media-seen:<id>``: the last listing that found it live. A session whose
  ``participant_left`` was lost is closed at the last moment Pulse *knew* it was
  present, not at the moment reconciliation noticed it gone.
- ``media-missing:<id>``: the first listing that found it gone (set once, cleared
  when it is seen again). Reconciliation waits a grace period from there, so a
  ``participant_left`` still on its way (LiveKit retries for a while) gets to
  close the session with its exact time.

These are hints, not records: the time chosen is saved in the closing event. With
Redis down nothing is recorded, nothing is known missing, and a pass closes nothing
unless the grace period is zero.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from uuid import UUID

from redis.asyncio import Redis
from redis.exceptions import RedisError

from pulse.logging import get_logger

log = get_logger(__name__)

_REDIS_ERRORS = (RedisError, OSError)


def seen_key(key_prefix: str, aggregate_id: UUID | str) -> str:
    return f"{key_prefix}media-seen:{aggregate_id}"


def missing_key(key_prefix: str, aggregate_id: UUID | str) -> str:
    return f"{key_prefix}media-missing:{aggregate_id}"


def _times(ids: list[str], values: list[bytes | str | None]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for aggregate_id, value in zip(ids, values, strict=True):
        if value is None:
            continue
        try:
            found[aggregate_id] = datetime.fromisoformat(
                value.decode() if isinstance(value, bytes) else value
            )
        except ValueError:
            continue
    return found


async def _read(redis: Redis, keys: list[str], ids: list[str]) -> dict[str, datetime]:
    if not ids:
        return {}
    try:
        values = await redis.mget(keys)
    except _REDIS_ERRORS:
        log.warning("media_presence_unavailable", exc_info=True)
        return {}
    return _times(ids, values)


async def record_listing(
    redis: Redis,
    key_prefix: str,
    present: Collection[UUID | str],
    missing: Collection[UUID | str],
    at: datetime,
    ttl_seconds: int,
) -> Mapping[str, datetime]:
    """Record one listing at ``at``; returns since when each of ``missing`` is missing.

    Never raises: without Redis the answer is empty (nothing known to be missing).
    """
    present_ids = [str(i) for i in present]
    missing_ids = [str(i) for i in missing]
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for aggregate_id in present_ids:
                pipe.set(seen_key(key_prefix, aggregate_id), at.isoformat(), ex=ttl_seconds)
                pipe.delete(missing_key(key_prefix, aggregate_id))
            for aggregate_id in missing_ids:
                # NX: the first listing that missed it stays the one the grace counts from.
                pipe.set(
                    missing_key(key_prefix, aggregate_id), at.isoformat(), ex=ttl_seconds, nx=True
                )
            await pipe.execute()
    except _REDIS_ERRORS:
        log.warning("media_presence_not_recorded", exc_info=True)
        return {}
    return await _read(redis, [missing_key(key_prefix, i) for i in missing_ids], missing_ids)


async def last_seen(
    redis: Redis, key_prefix: str, aggregate_ids: Collection[UUID | str]
) -> Mapping[str, datetime]:
    """When each of these was last seen live, for those with a record; never raises."""
    ids = [str(i) for i in aggregate_ids]
    return await _read(redis, [seen_key(key_prefix, i) for i in ids], ids)


async def forget(redis: Redis, key_prefix: str, aggregate_ids: Collection[UUID | str]) -> None:
    """Drop what was kept about rooms and sessions now closed; never raises."""
    keys = [k(key_prefix, i) for i in aggregate_ids for k in (seen_key, missing_key)]
    if not keys:
        return
    try:
        await redis.delete(*keys)
    except _REDIS_ERRORS:
        log.warning("media_presence_not_forgotten", exc_info=True)
