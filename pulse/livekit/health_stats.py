"""Figures over a region's kept checks: how many, uptime, median latency, failovers.

The worker works them out once a round (``health_round``) and keeps them in Redis:
over a day of checks that is thousands of records per region, too much to parse on
every request of a public route.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from pulse.livekit.health import RegionCheck


@dataclass(frozen=True)
class RegionStats:
    checks: int
    uptime_percent: float | None
    """Share of checks that found the region healthy; None without checks."""
    p50_latency_ms: float | None
    """Median latency of the healthy checks (a failed check's time is the timeout's)."""
    failovers: int
    """Times the region went from serving to failed over onto its backup."""
    since: datetime | None
    """When the oldest kept check ran."""

    def to_json(self) -> str:
        data = asdict(self)
        data["since"] = self.since.isoformat() if self.since else None
        return json.dumps(data)

    @classmethod
    def from_json(cls, raw: str | bytes) -> RegionStats | None:
        """The figures, or None for a record that does not parse."""
        try:
            data: dict[str, Any] = json.loads(raw)
            since = data["since"]
            return cls(
                checks=int(data["checks"]),
                uptime_percent=data["uptime_percent"],
                p50_latency_ms=data["p50_latency_ms"],
                failovers=int(data["failovers"]),
                since=datetime.fromisoformat(since) if since else None,
            )
        except (ValueError, TypeError, KeyError):
            return None


NO_CHECKS = RegionStats(0, None, None, 0, None)


def stats_of(newest_first: Sequence[RegionCheck]) -> RegionStats:
    if not newest_first:
        return NO_CHECKS
    checks = list(reversed(newest_first))
    healthy = [check for check in checks if check.healthy]
    # An episode that began before the oldest kept check counts too: it is in the window.
    failovers = sum(
        1
        for before, check in zip([None, *checks[:-1]], checks, strict=True)
        if check.failed_over and (before is None or not before.failed_over)
    )
    return RegionStats(
        checks=len(checks),
        uptime_percent=round(100 * len(healthy) / len(checks), 3),
        p50_latency_ms=(
            round(statistics.median(c.latency_ms for c in healthy), 3) if healthy else None
        ),
        failovers=failovers,
        since=checks[0].checked_at,
    )
