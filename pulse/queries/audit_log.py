"""An organization's audit log: filtered pages, the stream for export, stats, recent.

Every query is scoped by ``organization_id`` first and by the retention cutoff:
entries older than ``audit_retention_days`` are never returned, whether or not the
daily prune has deleted them yet (so a rebuild, before its prune, shows the same log).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from pulse.projections.collections import AUDIT_LOG
from pulse.queries.pagination import (
    DEFAULT_LIMIT,
    Document,
    InvalidQueryError,
    Page,
    check_limit,
    paginate,
)
from pulse.services.clock import as_utc

OUTCOMES = ("success", "failure", "denied")
ACTOR_KINDS = ("user", "api_key", "system")


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """Optional filters; ``since`` is inclusive, ``until`` exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    actor_id: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    outcome: str | None = None


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """The oldest time an entry may have and still be shown (and kept)."""
    return as_utc(now) - timedelta(days=retention_days)


def audit_query(organization_id: str, filters: AuditFilters, cutoff: datetime) -> Document:
    """The MongoDB filter of an organization's entries under ``filters``."""
    if filters.outcome is not None and filters.outcome not in OUTCOMES:
        raise InvalidQueryError(f"outcome must be one of {', '.join(OUTCOMES)}")
    since = cutoff if filters.since is None else max(as_utc(filters.since), cutoff)
    at: Document = {"$gte": since}
    if filters.until is not None:
        until = as_utc(filters.until)
        if filters.since is not None and until <= as_utc(filters.since):
            raise InvalidQueryError("to must be later than from")
        at["$lt"] = until
    query: Document = {"organization_id": str(organization_id), "at": at}
    optional = {
        "actor.id": filters.actor_id,
        "action": filters.action,
        "resource.type": filters.resource_type,
        "resource.id": filters.resource_id,
        "outcome": filters.outcome,
    }
    query.update({field: value for field, value in optional.items() if value is not None})
    return query


async def list_entries(
    db: AsyncDatabase[Document],
    organization_id: str,
    filters: AuditFilters,
    cutoff: datetime,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Entries in time order, oldest first (the pagination contract), paged."""
    query = audit_query(organization_id, filters, cutoff)
    return await paginate(db[AUDIT_LOG], query, limit=limit, cursor=cursor, sort_field="at")


async def stream_entries(
    db: AsyncDatabase[Document], query: Document, batch_size: int = 500
) -> AsyncIterator[Document]:
    """Every entry matching ``query`` (from ``audit_query``), oldest first, one at a time."""
    found = db[AUDIT_LOG].find(query).sort([("at", 1), ("_id", 1)]).batch_size(batch_size)
    async for document in found:
        yield document


async def entry_stats(
    db: AsyncDatabase[Document], organization_id: str, filters: AuditFilters, cutoff: datetime
) -> dict[str, Any]:
    """Counts by action, outcome and actor kind, and the total, in one pass."""
    query = audit_query(organization_id, filters, cutoff)
    groups = await db[AUDIT_LOG].aggregate(
        [
            {"$match": query},
            {
                "$group": {
                    "_id": {"action": "$action", "outcome": "$outcome", "actor": "$actor.kind"},
                    "count": {"$sum": 1},
                }
            },
        ]
    )
    by_action: dict[str, int] = {}
    by_outcome = dict.fromkeys(OUTCOMES, 0)
    by_actor_kind = dict.fromkeys(ACTOR_KINDS, 0)
    total = 0
    async for group in groups:
        key, count = group["_id"], int(group["count"])
        total += count
        for counts, value in (
            (by_action, key.get("action")),
            (by_outcome, key.get("outcome")),
            (by_actor_kind, key.get("actor")),
        ):
            name = str(value)
            counts[name] = counts.get(name, 0) + count
    return {
        "total": total,
        "by_action": dict(sorted(by_action.items())),
        "by_outcome": by_outcome,
        "by_actor_kind": by_actor_kind,
    }


async def recent_entries(
    db: AsyncDatabase[Document], organization_id: str, cutoff: datetime, limit: int
) -> list[Document]:
    """The latest ``limit`` entries, newest first."""
    check_limit(limit)
    query = audit_query(organization_id, AuditFilters(), cutoff)
    found = db[AUDIT_LOG].find(query).sort([("at", -1), ("_id", -1)]).limit(limit)
    return await found.to_list()
