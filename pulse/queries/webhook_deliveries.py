"""The delivery log of a project's endpoints: deliveries, their attempts, endpoint stats.

Every query is scoped by ``project_id`` first: a delivery id of another project finds
nothing, whatever the caller passes.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from pulse.domain.webhook_delivery import DeliveryStatus
from pulse.projections.collections import WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES
from pulse.queries.pagination import DEFAULT_LIMIT, Document, InvalidQueryError, Page, paginate

STATUSES = tuple(str(status) for status in DeliveryStatus)

STATS_ATTEMPTS = 1000
"""Latency percentiles are of the endpoint's most recent attempts, this many at most."""


async def list_deliveries(
    db: AsyncDatabase[Document],
    project_id: str,
    endpoint_id: str,
    *,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """An endpoint's deliveries, oldest first (the pagination contract), maybe of one status."""
    query: Document = {"project_id": str(project_id), "endpoint_id": str(endpoint_id)}
    if status is not None:
        if status not in STATUSES:
            raise InvalidQueryError(f"status must be one of {', '.join(STATUSES)}")
        query["status"] = status
    return await paginate(db[WEBHOOK_DELIVERIES], query, limit=limit, cursor=cursor)


async def attempts_of(
    db: AsyncDatabase[Document], project_id: str, delivery_id: str
) -> list[Document]:
    """Every attempt of a delivery (all rounds), in the order they started."""
    found = (
        db[WEBHOOK_ATTEMPTS]
        .find({"delivery_id": str(delivery_id), "project_id": str(project_id)})
        .sort([("started_at", 1), ("_id", 1)])
    )
    return await found.to_list()


def _percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 3)


async def endpoint_stats(
    db: AsyncDatabase[Document], project_id: str, endpoint_id: str
) -> dict[str, Any]:
    """Deliveries by status, success rate, attempt latency p50/p99, last success/failure.

    ``success_rate`` is of finished deliveries (succeeded / (succeeded + failed)), None
    before any finished.
    """
    scope = {"project_id": str(project_id), "endpoint_id": str(endpoint_id)}
    counts = dict.fromkeys(STATUSES, 0)
    async for document in db[WEBHOOK_DELIVERIES].find(scope, {"status": 1}):
        status = str(document.get("status"))
        counts[status] = counts.get(status, 0) + 1
    attempts = await (
        db[WEBHOOK_ATTEMPTS]
        .find(scope, {"outcome": 1, "latency_ms": 1, "finished_at": 1, "started_at": 1})
        .sort([("started_at", -1), ("_id", -1)])
        .limit(STATS_ATTEMPTS)
        .to_list()
    )
    latencies = sorted(float(a["latency_ms"]) for a in attempts if a.get("latency_ms") is not None)
    last: dict[str, datetime | None] = {"succeeded": None, "failed": None}
    for attempt in attempts:
        outcome, finished = attempt.get("outcome"), attempt.get("finished_at")
        if outcome in last and finished is not None:
            current = last[outcome]
            if current is None or finished > current:
                last[outcome] = finished
    finished_count = counts["succeeded"] + counts["failed"]
    return {
        "deliveries": counts,
        "total": sum(counts.values()),
        "success_rate": (
            round(counts["succeeded"] / finished_count, 4) if finished_count else None
        ),
        "attempts": len(attempts),
        "latency_ms_p50": _percentile(latencies, 50),
        "latency_ms_p99": _percentile(latencies, 99),
        "last_success_at": last["succeeded"],
        "last_failure_at": last["failed"],
    }
