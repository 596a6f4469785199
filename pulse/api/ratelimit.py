"""Rate limits per client IP and per project, shared by every API process through Redis.

The algorithm is GCRA (the generic cell rate algorithm): one Redis key per subject
holds a single timestamp, the "theoretical arrival time", and a Lua script reads and
advances it atomically on Redis' own clock. So any number of API processes enforce one
limit without races or clock skew, and a quota of ``q`` per ``w`` seconds allows a
burst of ``q`` and then one request every ``w / q`` seconds.

Every limited response carries the IETF draft headers (draft-ietf-httpapi-ratelimit-
headers): ``RateLimit-Policy`` lists the policies that applied, ``RateLimit`` reports
the one closest to exhaustion; a refused request gets 429 with ``Retry-After``.

The per-project limit needs to know the project, which only authentication does: the
middleware calls ``app.state.rate_limit_project(request)`` (sync or async, returning a
project id or None; the default returns None). It runs before the route, so the hook
sees headers and ``request.state`` only, never the body; it is called only once the IP
limit has let the request through, so a flood from one address cannot make it work.

If Redis cannot be reached, requests are served without limits (fail open) and a
warning is logged at most once per ``OUTAGE_LOG_INTERVAL_SECONDS``: refusing every
request because the limiter is down would turn a Redis outage into an API outage.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from ipaddress import IPv6Address, IPv6Network
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pulse.api.client_ip import parse_ip, remember_client_ip, resolve_client_ip
from pulse.api.problems import problem_response
from pulse.config import Settings
from pulse.logging import get_logger

log = get_logger(__name__)

ProjectOf = Callable[[Request], Awaitable[str | None] | str | None]

# LiveKit posts every webhook of a cluster from a few addresses: a per-IP limit would
# drop them. The route is authenticated by LiveKit's signature, checked before any write.
EXEMPT_PATHS = frozenset({"/health", "/ready", "/v1/webhooks/livekit"})
POLICY_HEADER = "RateLimit-Policy"
LIMIT_HEADER = "RateLimit"
RETRY_AFTER_HEADER = "Retry-After"

# An IPv6 subscriber usually gets a whole /64; limiting single addresses in it would
# let one client rotate through 2^64 fresh quotas.
IPV6_SUBJECT_PREFIX = 64
# Redis answers in well under a millisecond; waiting longer only delays every request
# during an outage, which fails open anyway.
REDIS_TIMEOUT_SECONDS = 1.0
OUTAGE_LOG_INTERVAL_SECONDS = 60.0
_MICROS = 1_000_000

# KEYS[1]: the subject's key. ARGV: emission interval (window / quota) and window, in
# microseconds. The key holds the theoretical arrival time (TAT) in microseconds of
# Redis' clock. A request is allowed when TAT + interval - window <= now; it then moves
# TAT on by one interval. Returns {allowed, remaining, reset_us, retry_after_us}.
# string.format('%d') because Lua 5.1 would print a 16-digit number as 1.7e+15.
_GCRA_SCRIPT = """
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if allow_at > now then
  return {0, 0, tat - now, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((now - allow_at) / interval), new_tat - now, 0}
"""


@dataclass(frozen=True, slots=True)
class Policy:
    """``quota`` requests per ``window_seconds``, named as in the response headers."""

    name: str
    quota: int
    window_seconds: int

    @property
    def interval_us(self) -> int:
        # Rounded down so that a full burst of `quota` always fits in the window.
        return max(1, self.window_seconds * _MICROS // self.quota)

    def header_item(self) -> str:
        return f'"{self.name}";q={self.quota};w={self.window_seconds}'


@dataclass(frozen=True, slots=True)
class Decision:
    policy: Policy
    allowed: bool
    remaining: int
    reset_seconds: int  # until the whole quota is available again
    retry_after_seconds: int  # 0 when allowed

    def header_item(self) -> str:
        return f'"{self.policy.name}";r={self.remaining};t={self.reset_seconds}'


def _seconds(micros: int) -> int:
    return math.ceil(micros / _MICROS)


class RateLimiter:
    """Counts one request against a subject's quota, atomically, in Redis."""

    def __init__(self, redis: Redis, key_prefix: str) -> None:
        self.key_prefix = key_prefix
        self.script = redis.register_script(_GCRA_SCRIPT)

    def key(self, policy: Policy, subject: str) -> str:
        return f"{self.key_prefix}ratelimit:{policy.name}:{subject}"

    async def hit(self, policy: Policy, subject: str) -> Decision:
        answer = await self.script(
            keys=[self.key(policy, subject)],
            args=[policy.interval_us, policy.window_seconds * _MICROS],
        )
        allowed, remaining, reset_us, retry_us = (int(value) for value in answer)
        return Decision(
            policy=policy,
            allowed=bool(allowed),
            remaining=remaining,
            reset_seconds=_seconds(reset_us),
            retry_after_seconds=max(1, _seconds(retry_us)) if not allowed else 0,
        )


def ip_subject(client_ip: str) -> str:
    """What the per-IP limit counts: the address, or its /64 for IPv6."""
    address = parse_ip(client_ip)
    if isinstance(address, IPv6Address):
        return str(IPv6Network((address, IPV6_SUBJECT_PREFIX), strict=False))
    return client_ip


def reported_decision(decisions: Sequence[Decision]) -> Decision:
    """The decision closest to exhaustion: a refusal first, then the least headroom."""
    return min(
        decisions,
        key=lambda d: (d.allowed, d.remaining / d.policy.quota, -d.reset_seconds),
    )


def rate_limit_headers(decisions: Sequence[Decision]) -> dict[str, str]:
    return {
        POLICY_HEADER: ", ".join(d.policy.header_item() for d in decisions),
        LIMIT_HEADER: reported_decision(decisions).header_item(),
    }


def no_project(request: Request) -> str | None:
    """Default ``app.state.rate_limit_project``: no project known, no project limit."""
    return None


async def project_of(scope: Scope) -> str | None:
    app = scope.get("app")
    hook = cast(ProjectOf, getattr(getattr(app, "state", None), "rate_limit_project", no_project))
    result = hook(Request(scope))
    if isinstance(result, Awaitable):
        return await result
    return result


class _OutageLog:
    """Warns on the first failure, then at most once per interval, with a count."""

    def __init__(self, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds
        self.last_warning: float | None = None
        self.unlimited_since_warning = 0

    def failed(self, error: BaseException) -> None:
        now = time.monotonic()
        self.unlimited_since_warning += 1
        if self.last_warning is not None and now - self.last_warning < self.interval_seconds:
            return
        log.warning(
            "rate_limit_unavailable",
            error=repr(error),
            served_without_limit=self.unlimited_since_warning,
            next_warning_after_seconds=self.interval_seconds,
        )
        self.last_warning = now
        self.unlimited_since_warning = 0


class _LimiterUnavailableError(Exception):
    """The lifespan has not opened the clients (or has closed them)."""


_OUTAGE_ERRORS = (RedisError, OSError, _LimiterUnavailableError)  # OSError covers timeouts


class RateLimitMiddleware:
    """Pure ASGI: refuses over-limit requests with 429, labels the others' quotas."""

    def __init__(
        self, app: ASGIApp, settings: Settings, exempt_paths: Iterable[str] = EXEMPT_PATHS
    ) -> None:
        self.app = app
        self.exempt_paths = frozenset(exempt_paths)
        self.trusted_proxies = tuple(settings.trusted_proxies)
        self.key_prefix = settings.redis_key_prefix
        self.ip_policy = _policy(
            "ip", settings.rate_limit_ip_requests, settings.rate_limit_ip_window_seconds
        )
        self.project_policy = _policy(
            "project",
            settings.rate_limit_project_requests,
            settings.rate_limit_project_window_seconds,
        )
        self.outages = _OutageLog(OUTAGE_LOG_INTERVAL_SECONDS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client_ip = resolve_client_ip(scope, self.trusted_proxies)
        remember_client_ip(scope, client_ip)
        if scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        try:
            decisions = await self._decide(scope, client_ip)
        except _OUTAGE_ERRORS as error:
            self.outages.failed(error)
            await self.app(scope, receive, send)
            return
        if not decisions:
            await self.app(scope, receive, send)
            return
        headers = rate_limit_headers(decisions)
        refused = reported_decision(decisions)
        if not refused.allowed:
            await self._refuse(scope, receive, send, refused, headers)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in headers.items():
                    response_headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _decide(self, scope: Scope, client_ip: str) -> list[Decision]:
        decisions: list[Decision] = []
        if self.ip_policy is not None:
            decision = await self._hit(scope, self.ip_policy, ip_subject(client_ip))
            decisions.append(decision)
            if not decision.allowed:
                return decisions  # The project hook is not worth running for a refusal.
        if self.project_policy is not None:
            project = await project_of(scope)  # Outside the Redis guard: its errors are bugs.
            if project is not None:
                decisions.append(await self._hit(scope, self.project_policy, project))
        return decisions

    async def _hit(self, scope: Scope, policy: Policy, subject: str) -> Decision:
        clients = getattr(getattr(scope.get("app"), "state", None), "clients", None)
        if clients is None:
            raise _LimiterUnavailableError("no Redis client on app.state")
        limiter = RateLimiter(clients.redis, self.key_prefix)
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            return await limiter.hit(policy, subject)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        decision: Decision,
        headers: dict[str, str],
    ) -> None:
        policy = decision.policy
        log.info("rate_limited", policy=policy.name, retry_after=decision.retry_after_seconds)
        response = problem_response(
            scope,
            HTTPStatus.TOO_MANY_REQUESTS,
            f"Too many requests: the {policy.name} limit is {policy.quota} requests per "
            f"{policy.window_seconds} s. Retry after {decision.retry_after_seconds} s.",
            headers={**headers, RETRY_AFTER_HEADER: str(decision.retry_after_seconds)},
        )
        await response(scope, receive, send)


def _policy(name: str, quota: int, window_seconds: int) -> Policy | None:
    return Policy(name, quota, window_seconds) if quota > 0 else None
