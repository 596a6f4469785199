"""Send jobs: one arq job ``deliver_webhook`` per attempt, with an id that names it.

The job id is ``deliver:<delivery_id>:<round>:<attempt>`` (the attempt about to be
claimed), so enqueueing the same attempt twice (the sender, the sweeper, a fan-out
that ran again) is a no-op while the first job is queued or running. The job keeps
no result (``keep_result=0`` in the worker settings): a kept result would refuse a
re-enqueue of that id, and the sweeper must be able to enqueue it again should the
job be lost. Running a job twice is harmless anyway: the delivery says whether an
attempt is due, and only one claimant of an attempt can save its claim.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from arq.connections import ArqRedis

from pulse.domain.webhook_delivery import WebhookDelivery

DELIVER_WEBHOOK = "deliver_webhook"


def job_id(delivery_id: UUID | str, round_no: int, attempt: int, suffix: str = "") -> str:
    return f"deliver:{delivery_id}:{round_no}:{attempt}" + (f":{suffix}" if suffix else "")


async def enqueue_due(
    pool: ArqRedis,
    delivery_id: UUID | str,
    at: datetime | None,
    *,
    round_no: int = 1,
    attempt: int = 1,
    suffix: str = "",
) -> bool:
    """Enqueue the send of attempt ``attempt`` of round ``round_no`` at ``at`` (None: now).

    Returns False when that job is already queued or running. Pass the round and the
    attempt (``enqueue_next`` reads them off the aggregate): two calls for different
    attempts must not share a job id. The sweeper adds a ``suffix``: a job that a dead
    worker was running keeps its id in Redis until arq's in-progress key expires (the
    job timeout, minutes), and must not block the attempt's re-enqueue that long.
    """
    defer_until = None if at is None else at.astimezone(UTC)
    job = await pool.enqueue_job(
        DELIVER_WEBHOOK,
        str(delivery_id),
        _job_id=job_id(delivery_id, round_no, attempt, suffix),
        _defer_until=defer_until,
    )
    return job is not None


async def enqueue_next(pool: ArqRedis, delivery: WebhookDelivery) -> bool:
    """Enqueue the delivery's next attempt, if it has one due at some time."""
    if delivery.is_final:
        return False
    at = delivery.next_attempt_at if delivery.status == "pending" else delivery.claimed_until
    return await enqueue_due(
        pool, delivery.id, at, round_no=delivery.round, attempt=delivery.attempts + 1
    )
