"""When the next attempt of a failed delivery is due, and how long a claim lasts.

The first attempt is sent at once; the schedule lists the delays before each retry
(Svix's by default: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), so a delivery has
``1 + len(schedule)`` attempts. Each delay is spread by ``±jitter`` (a fraction) so that
the retries of many deliveries failing at once (an endpoint coming back) do not all
arrive in the same second.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from pulse.config import Settings

CLAIM_MARGIN_SECONDS = 10.0
"""Beyond the request's deadline: time to save the outcome before another worker may
take the attempt over. Too short, and a slow save lets a second worker send a
duplicate (with the same ``webhook-id``); too long, and a dead worker's attempt waits."""


def retry_delay(
    schedule: list[int], failed_attempt: int, jitter: float, rng: random.Random | None = None
) -> float | None:
    """Seconds before the attempt after ``failed_attempt`` (from 1); None after the last."""
    if failed_attempt < 1 or failed_attempt > len(schedule):
        return None
    delay = float(schedule[failed_attempt - 1])
    if jitter:
        delay *= 1 + (rng or random).uniform(-jitter, jitter)
    return max(0.0, delay)


def next_attempt_at(
    settings: Settings, failed_attempt: int, now: datetime, rng: random.Random | None = None
) -> datetime | None:
    delay = retry_delay(
        settings.webhook_retry_schedule_seconds, failed_attempt, settings.webhook_retry_jitter, rng
    )
    return None if delay is None else now + timedelta(seconds=delay)


def claim_seconds(settings: Settings) -> float:
    """How long a claimed attempt is ours: the request's total deadline plus a margin."""
    return settings.webhook_timeout_seconds + CLAIM_MARGIN_SECONDS
