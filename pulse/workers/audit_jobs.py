"""Audit-log retention: a daily job deletes read-model entries past the retention period.

Only ``rm_audit_log`` entries are deleted, never events: the log can always be rebuilt
from the event store, and the queries apply the same cutoff, so a rebuild shows the
same entries before and after the next prune. ``rm_audit_scopes`` is kept: later
events of an old aggregate still need their organization.
"""

from __future__ import annotations

from datetime import datetime

from arq.cron import CronJob, cron
from arq.typing import WorkerCoroutine
from arq.worker import Function, func
from pymongo.asynchronous.database import AsyncDatabase

from pulse.config import Settings
from pulse.logging import get_logger
from pulse.projections.collections import AUDIT_LOG
from pulse.queries.audit_log import retention_cutoff
from pulse.queries.pagination import Document
from pulse.services.clock import utc_now
from pulse.workers.context import JobContext, clients_of, settings_of

log = get_logger(__name__)

PRUNE_HOUR = 3
PRUNE_MINUTE = 17
"""When the daily prune runs (UTC): off the hour, when most schedules are quiet."""


async def prune_entries(
    database: AsyncDatabase[Document], now: datetime, retention_days: int
) -> int:
    """Delete entries older than the retention period; returns how many."""
    cutoff = retention_cutoff(now, retention_days)
    result = await database[AUDIT_LOG].delete_many({"at": {"$lt": cutoff}})
    return int(result.deleted_count)


async def prune_audit_log(ctx: JobContext) -> int:
    settings = settings_of(ctx)
    deleted = await prune_entries(
        clients_of(ctx).database, utc_now(), settings.audit_retention_days
    )
    if deleted:
        log.info("audit_log_pruned", deleted=deleted, retention_days=settings.audit_retention_days)
    return deleted


JOBS: tuple[WorkerCoroutine | Function, ...] = (func(prune_audit_log, keep_result=0),)


def crons(settings: Settings) -> list[CronJob]:
    return [
        cron(
            prune_audit_log,
            name=f"cron:{settings.worker_queue_name}:prune_audit_log",
            hour={PRUNE_HOUR},
            minute={PRUNE_MINUTE},
            second={0},
            unique=True,
            keep_result=0,
        )
    ]
