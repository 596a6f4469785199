"""Checking the regions' LiveKit deployments: up, and accepting Pulse's credentials.

A region is healthy when its LiveKit answers ``GET /`` with ``200 OK`` *and* an
authenticated RoomService call (``ListRooms``) succeeds: a server that is up but
refuses the configured key cannot serve a project either. Regions that share one
deployment (the default: every region on the one local LiveKit) are checked once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
from livekit.api import ListRoomsRequest, LiveKitAPI, TwirpError

from pulse.livekit.gateway import LiveKitGateway
from pulse.livekit.regions import Region
from pulse.logging import get_logger

log = get_logger(__name__)

DEFAULT_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class RegionCheck:
    """One check of one region, as kept in Redis (see ``health_records``)."""

    healthy: bool
    latency_ms: float
    """Round trip of ``GET /`` (or time to failure): the network's share, not LiveKit's work."""
    checked_at: datetime
    error: str | None = None
    """Why the check failed; never a host or an address (the status routes are public)."""
    failed_over: bool = False
    """Whether, as of this check, the region was down and its backup up (serving instead)."""

    def to_json(self) -> str:
        return json.dumps(
            {
                "healthy": self.healthy,
                "latency_ms": self.latency_ms,
                "checked_at": self.checked_at.isoformat(),
                "error": self.error,
                "failed_over": self.failed_over,
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> RegionCheck | None:
        """The check, or None for a record that does not parse (never fail a read on it)."""
        try:
            data: dict[str, Any] = json.loads(raw)
            return cls(
                healthy=bool(data["healthy"]),
                latency_ms=float(data["latency_ms"]),
                checked_at=datetime.fromisoformat(data["checked_at"]),
                error=data.get("error"),
                failed_over=bool(data.get("failed_over", False)),
            )
        except (ValueError, TypeError, KeyError):
            return None


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


async def check_livekit(
    http: httpx.AsyncClient, api: LiveKitAPI, url: str, time_limit: float
) -> RegionCheck:
    """Check one LiveKit deployment; both requests together within ``time_limit`` seconds."""
    checked_at = datetime.now(UTC)
    started = time.perf_counter()
    latency_ms: float | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(time_limit):
            # An absolute URL: httpx ignores the client's base_url (the default LiveKit).
            response = await http.get(f"{url}/")
            latency_ms = _elapsed_ms(started)
            if response.status_code != 200 or response.text.strip() != "OK":
                error = f"GET / answered HTTP {response.status_code}"
            else:
                await api.room.list_rooms(ListRoomsRequest())
    except TimeoutError:
        error = f"no answer within {time_limit:g} s"
    except TwirpError as exc:
        # 401 here means the region's key or secret is wrong.
        error = f"RoomService answered HTTP {exc.status} ({exc.code})"
    except Exception as exc:
        # The text can name hosts and addresses: for the log, not for the status page.
        error = type(exc).__name__
        log.warning("region_check_failed", url=url, error=repr(exc))
    return RegionCheck(
        healthy=error is None,
        latency_ms=latency_ms if latency_ms is not None else _elapsed_ms(started),
        checked_at=checked_at,
        error=error,
    )


def _deployment(region: Region) -> tuple[str, str, str]:
    endpoint = region.endpoint
    return endpoint.url, endpoint.api_key, endpoint.api_secret.get_secret_value()


async def check_all(
    gateway: LiveKitGateway, http: httpx.AsyncClient, time_limit: float = DEFAULT_TIMEOUT_SECONDS
) -> dict[str, RegionCheck]:
    """Every region's check, each distinct deployment checked once, all concurrently."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for code, region in gateway.regions.items():
        groups.setdefault(_deployment(region), []).append(code)
    deployments = list(groups.items())
    results = await asyncio.gather(
        *(
            check_livekit(http, gateway.api(codes[0]), deployment[0], time_limit)
            for deployment, codes in deployments
        )
    )
    checks: dict[str, RegionCheck] = {}
    for (_, codes), result in zip(deployments, results, strict=True):
        checks.update(dict.fromkeys(codes, result))
    return checks


def with_failovers(
    checks: Mapping[str, RegionCheck], backups: Mapping[str, str]
) -> dict[str, RegionCheck]:
    """Mark the regions a round found down while their backup was up.

    The same rule as ``selection.serving_region``, applied to one round's results
    so the history can count failovers.
    """
    marked: dict[str, RegionCheck] = {}
    for code, check in checks.items():
        backup = checks.get(backups[code])
        failed_over = not check.healthy and backup is not None and backup.healthy
        marked[code] = replace(check, failed_over=failed_over)
    return marked
