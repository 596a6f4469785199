"""Bringing egresses and ingresses up to date with LiveKit, when its webhooks were lost.

Egress and ingress states come only from LiveKit's answers and webhooks. LiveKit
drops webhooks under load, and a webhook that overtakes Pulse's recording of the
start (its alias is not saved yet) is acknowledged and ignored: either way an egress
could stay ``active`` or ``ending`` in Pulse for ever after LiveKit finished it, and an
ingress ``publishing`` after its stream stopped. So, on the reconciliation schedule
(``pulse.workers.reconciliation_jobs``), a pass:

1. reads the unfinished egresses (active or ending) and the live ingresses (buffering
   or publishing) from the read models;
2. asks each one's region's LiveKit for its current state, by LiveKit id
   (``pulse.livekit.media_status``); a region whose LiveKit cannot answer is left
   entirely as it is;
3. applies each answer through the aggregate's ``observe``, exactly as a webhook
   carrying it would: a report older than what Pulse knows is ignored, so the pass
   is idempotent beside webhooks, and a late ``egress_ended`` after it changes nothing;
4. fails an egress LiveKit no longer knows once it has been missing for the grace
   period (``Egress.record_lost``), at the last moment Pulse knew it running. An
   ingress LiveKit no longer knows is only counted: deleting it is the project's call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from livekit.protocol import egress as eg
from livekit.protocol import ingress as ig
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis

from pulse.domain.context import CommandContext
from pulse.domain.egress import Egress
from pulse.domain.ingress import Ingress
from pulse.livekit.gateway import LiveKitGateway
from pulse.livekit.media_status import Answers, ask_regions, egress_info, ingress_info
from pulse.logging import get_logger
from pulse.queries.media_egress import every_live_ingress, every_unfinished_egress
from pulse.queries.pagination import Document
from pulse.services import media_presence
from pulse.services.application import PulseApplication
from pulse.services.clock import as_utc, utc_now
from pulse.services.egress_info import observation_of
from pulse.services.errors import ConflictError, NotFoundError
from pulse.services.ingress_info import ingress_observation_of
from pulse.services.reconciliation import RECONCILIATION_CONTEXT, ReconciliationSettings
from pulse.services.retries import retry_on_conflict

log = get_logger(__name__)

M = TypeVar("M", Egress, Ingress)

EGRESS_GONE = "reconciliation: egress not in LiveKit"


@dataclass
class MediaReconciliationReport:
    unfinished_egresses: int = 0
    egresses_updated: int = 0
    """Moved on by LiveKit's answer (ended, ending, new results...)."""
    egresses_missing: int = 0
    """Not known to LiveKit: failed now, or still in their grace period."""
    egresses_failed: int = 0
    live_ingresses: int = 0
    ingresses_updated: int = 0
    ingresses_missing: int = 0
    media_skipped: str | None = None
    """The regions whose LiveKit could not answer (their egresses and ingresses were
    left as they are), and why."""

    @property
    def changed(self) -> bool:
        return bool(self.egresses_updated or self.egresses_failed or self.ingresses_updated)

    def as_dict(self) -> dict[str, int | str | None]:
        return asdict(self)


def _ids_by_region(documents: Iterable[Document], id_field: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for document in documents:
        found.setdefault(document["region"], []).append(document[id_field])
    return found


def _apply(
    app: PulseApplication, kind: type[M], aggregate_id: UUID, change: Callable[[M], bool]
) -> bool:
    """Run ``change`` on a fresh load and save what it did; re-run on a version conflict."""

    def command() -> bool:
        aggregate = app.load(aggregate_id, kind)
        if not change(aggregate):
            return False  # Stale, or already done by a webhook or another pass.
        app.save(aggregate)
        return True

    return retry_on_conflict(command)


def _apply_each(
    app: PulseApplication, kind: type[M], changes: Mapping[UUID, Callable[[M], bool]]
) -> list[UUID]:
    """Apply each change in its own save; the ids of those that changed something."""
    changed: list[UUID] = []
    for aggregate_id, change in changes.items():
        try:
            if _apply(app, kind, aggregate_id, change):
                changed.append(aggregate_id)
        except (NotFoundError, ConflictError) as error:
            # One stubborn aggregate must not stop the others; the next pass retries it.
            log.warning(
                "media_reconciliation_failed",
                kind=kind.__name__,
                aggregate_id=str(aggregate_id),
                error=str(error),
            )
    return changed


def observe_egresses(
    app: PulseApplication, infos: Mapping[UUID, eg.EgressInfo], context: CommandContext
) -> list[UUID]:
    def observing(info: eg.EgressInfo) -> Callable[[Egress], bool]:
        return lambda egress: egress.observe(observation_of(info, egress.public_base_url), context)

    return _apply_each(app, Egress, {i: observing(info) for i, info in infos.items()})


def observe_ingresses(
    app: PulseApplication, infos: Mapping[UUID, ig.IngressInfo], context: CommandContext
) -> list[UUID]:
    def observing(info: ig.IngressInfo) -> Callable[[Ingress], bool]:
        return lambda ingress: ingress.observe(ingress_observation_of(info), context)

    return _apply_each(app, Ingress, {i: observing(info) for i, info in infos.items()})


def fail_lost_egresses(
    app: PulseApplication,
    egress_ids: Collection[UUID],
    seen: Mapping[str, datetime],
    context: CommandContext,
) -> list[UUID]:
    """Fail each egress, ended at the last moment Pulse knew it running: the last pass
    that found it in LiveKit, or LiveKit's last report, whichever is later."""

    def losing(egress: Egress) -> bool:
        moments = (egress.started_at, egress.modified_on, seen.get(str(egress.id)))
        ended_at = max(as_utc(m) for m in moments if m is not None)
        return egress.record_lost(ended_at, EGRESS_GONE, context)

    return _apply_each(app, Egress, dict.fromkeys(egress_ids, losing))


def _due(
    missing: Iterable[UUID], since: Mapping[str, datetime], now: datetime, grace: timedelta
) -> list[UUID]:
    if not grace:
        return list(missing)  # Even without Redis to say since when.
    return [i for i in missing if str(i) in since and now - as_utc(since[str(i)]) >= grace]


@dataclass(frozen=True)
class _Pass:
    """What every step of one pass shares."""

    app: PulseApplication
    redis: Redis
    key_prefix: str
    options: ReconciliationSettings
    context: CommandContext
    asked_at: datetime
    """Taken before LiveKit was asked: whatever it answered was true at this moment."""


async def _reconcile_egresses(
    run: _Pass,
    egresses: list[Document],
    answers: Answers[eg.EgressInfo],
    report: MediaReconciliationReport,
) -> None:
    pulse_id = {d["livekit_egress_id"]: UUID(d["_id"]) for d in egresses}
    found = {pulse_id[livekit_id]: info for livekit_id, info in answers.found.items()}
    missing = [pulse_id[livekit_id] for livekit_id in answers.unknown]
    ended = [i for i, info in found.items() if observation_of(info, None).status.is_terminal]
    present = [i for i in found if i not in ended]
    missing_since = await media_presence.record_listing(
        run.redis, run.key_prefix, present, missing, run.asked_at, run.options.presence_ttl_seconds
    )
    seen = await media_presence.last_seen(run.redis, run.key_prefix, missing)
    grace = timedelta(seconds=run.options.grace_seconds)
    due = _due(missing, missing_since, run.asked_at, grace)
    updated = await asyncio.to_thread(observe_egresses, run.app, found, run.context)
    failed = await asyncio.to_thread(fail_lost_egresses, run.app, due, seen, run.context)
    report.egresses_missing = len(missing)
    report.egresses_updated, report.egresses_failed = len(updated), len(failed)
    # Ended now (or already): nothing more to remember of them.
    await media_presence.forget(run.redis, run.key_prefix, [*ended, *due])


async def _reconcile_ingresses(
    run: _Pass,
    ingresses: list[Document],
    answers: Answers[ig.IngressInfo],
    report: MediaReconciliationReport,
) -> None:
    pulse_id = {d["livekit_ingress_id"]: UUID(d["_id"]) for d in ingresses}
    found = {pulse_id[livekit_id]: info for livekit_id, info in answers.found.items()}
    updated = await asyncio.to_thread(observe_ingresses, run.app, found, run.context)
    report.ingresses_updated = len(updated)
    report.ingresses_missing = len(answers.unknown)
    if answers.unknown:
        # Deleted on LiveKit behind Pulse's back: left for the project to delete.
        log.warning("ingresses_not_in_livekit", livekit_ids=sorted(answers.unknown))


async def reconcile_media(
    app: PulseApplication,
    database: AsyncDatabase[Document],
    gateway: LiveKitGateway,
    redis: Redis,
    key_prefix: str,
    options: ReconciliationSettings,
    context: CommandContext = RECONCILIATION_CONTEXT,
) -> MediaReconciliationReport:
    """One pass; see the module's docstring. Safe beside webhooks and other passes."""
    egresses, ingresses = await asyncio.gather(
        every_unfinished_egress(database), every_live_ingress(database)
    )
    report = MediaReconciliationReport(
        unfinished_egresses=len(egresses), live_ingresses=len(ingresses)
    )
    if not egresses and not ingresses:
        return report  # Nothing to check: LiveKit is not even asked.
    run = _Pass(app, redis, key_prefix, options, context, asked_at=utc_now())
    egress_answers, ingress_answers = await asyncio.gather(
        ask_regions(gateway, _ids_by_region(egresses, "livekit_egress_id"), egress_info),
        ask_regions(gateway, _ids_by_region(ingresses, "livekit_ingress_id"), ingress_info),
    )
    unreachable = {**egress_answers.unreachable, **ingress_answers.unreachable}
    if unreachable:
        report.media_skipped = "; ".join(f"{code}: {why}" for code, why in unreachable.items())
        log.warning("media_reconciliation_skipped", regions=report.media_skipped)
    await _reconcile_egresses(run, egresses, egress_answers, report)
    await _reconcile_ingresses(run, ingresses, ingress_answers, report)
    if report.changed:
        log.info("media_reconciled", **report.as_dict())
    return report
