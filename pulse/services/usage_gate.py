"""The Free plan's hard stop: no new tokens once a project's participant minutes of the
period reach the Free limit, until the period ends or the organization's plan changes.

It runs on every token mint, so it is cheap: the plan comes from the organizations
read model (one lookup by ``_id``); only for a Free organization is usage looked at,
and that decision is cached in Redis for ``usage_gate_cache_seconds`` under a key
naming the period, so a new period starts with a fresh decision. The plan is read on
every mint (never cached), so an upgrade lifts the stop on the next request. Usage is
the usage read model's month bucket: eventually consistent, by seconds.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from decimal import Decimal
from typing import cast
from uuid import UUID

from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis
from redis.exceptions import RedisError

from pulse.domain.limits import LimitStatus, status_of
from pulse.domain.metering import Meter, period_bounds, period_of
from pulse.domain.plans import Plan, terms_of
from pulse.logging import get_logger
from pulse.projections.collections import ORGANIZATIONS, USAGE_BUCKETS
from pulse.projections.model import Document
from pulse.projections.usage import MONTH, bucket_id

log = get_logger(__name__)

GATED_METER = Meter.PARTICIPANT_MINUTES
_OVER, _UNDER = b"over", b"under"


class UsageLimitReachedError(Exception):
    """A Free project's participant minutes of the period reached the Free limit."""

    def __init__(self, meter: Meter, limit: Decimal, period: str, ends_at: datetime) -> None:
        self.meter = meter
        self.limit = limit
        self.period = period
        self.ends_at = ends_at
        super().__init__(
            f"This project used its {limit} {meter.replace('_', ' ')} of the Free plan for "
            f"{period}; new tokens are refused until the period ends at "
            f"{ends_at.isoformat().replace('+00:00', 'Z')} or the organization's plan changes."
        )


def gate_key(prefix: str, project_id: UUID, period: str) -> str:
    return f"{prefix}limits:token-gate:{period}:{project_id}"


async def plan_of(database: AsyncDatabase[Document], organization_id: UUID) -> Plan | None:
    found = await database[ORGANIZATIONS].find_one({"_id": str(organization_id)}, {"plan": 1})
    return None if found is None else Plan(str(found.get("plan", Plan.FREE)))


async def participant_ms(database: AsyncDatabase[Document], project_id: UUID, period: str) -> int:
    found = await database[USAGE_BUCKETS].find_one(
        {"_id": bucket_id(project_id, MONTH, period_bounds(period)[0])},
        {GATED_METER.raw_field: 1},
    )
    return 0 if found is None else int(found.get(GATED_METER.raw_field, 0) or 0)


async def _cached(redis: Redis, key: str) -> bytes | None:
    try:
        return await cast(Awaitable[bytes | None], redis.get(key))
    except RedisError as error:
        log.warning("usage_gate_cache_unavailable", error=repr(error))
        return None


async def _remember(redis: Redis, key: str, over: bool, seconds: float) -> None:
    if seconds <= 0:
        return
    try:
        await redis.set(key, _OVER if over else _UNDER, px=max(1, int(seconds * 1000)))
    except RedisError as error:
        log.warning("usage_gate_cache_unavailable", error=repr(error))


async def ensure_tokens_allowed(
    database: AsyncDatabase[Document],
    redis: Redis,
    prefix: str,
    cache_seconds: float,
    project_id: UUID,
    organization_id: UUID,
    now: datetime,
) -> None:
    """Raise ``UsageLimitReachedError`` if the project may mint no token now."""
    plan = await plan_of(database, organization_id)
    if plan is not Plan.FREE:
        return  # Pro and Enterprise are billed for what they use, never stopped.
    terms = terms_of(plan)
    limit = terms.limit_of(GATED_METER)
    if limit is None:
        return
    period = period_of(now)
    key = gate_key(prefix, project_id, period)
    cached = await _cached(redis, key) if cache_seconds > 0 else None  # 0: no cache.
    if cached == _UNDER:
        return
    if cached != _OVER:
        used = await participant_ms(database, project_id, period)
        # The limits' own rule: at the limit, the included minutes are used up.
        over = status_of(terms, GATED_METER, used).status is LimitStatus.EXCEEDED
        await _remember(redis, key, over, cache_seconds)
        if not over:
            return
    _, ends_at = period_bounds(period)
    raise UsageLimitReachedError(GATED_METER, limit, period, ends_at)
