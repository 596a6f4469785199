"""Closing what LiveKit no longer has, when its webhook never reached Pulse.

LiveKit drops webhooks when its queue overflows, and gives up retrying after a
while; a lost ``participant_left`` would leave a session open, and its duration
growing, for ever. So, on a schedule, a pass:

1. reads the rooms and sessions Pulse believes open (read model) — *before* asking
   LiveKit, so that everything it holds was recorded before the listing began and
   cannot be mistaken for gone by a listing that predates it;
2. lists every deployment's live rooms, and the participants of those rooms that
   have open sessions (``pulse.livekit.inventory``); if any deployment cannot be
   listed, the pass closes nothing (a room missing from a partial list may be live);
3. closes each room or session missing from LiveKit for at least the grace period,
   at the last moment Pulse knew it present: the last listing that saw it, else its
   latest known activity (joined, track events; a room's start or the end of any of
   its sessions, closed now or before). Never later: a duration Pulse cannot vouch
   for is not counted.

Closing goes through the aggregates, so a pass is idempotent and safe beside the
webhooks: a session already closed (by its webhook, or another pass) is left as it
is, and a version conflict re-runs the close on the fresh state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis

from pulse.domain.context import CommandContext
from pulse.domain.participant_session import ParticipantSession
from pulse.domain.room import ClosedBy, Room
from pulse.livekit.errors import MediaUnavailableError
from pulse.livekit.gateway import LiveKitGateway
from pulse.livekit.inventory import Inventory, take_inventory
from pulse.logging import get_logger
from pulse.queries.media_rooms import every_open_room, every_open_session, latest_session_ends
from pulse.queries.pagination import Document
from pulse.services import media_presence
from pulse.services.application import PulseApplication
from pulse.services.clock import as_utc
from pulse.services.errors import ConflictError, NotFoundError
from pulse.services.retries import retry_on_conflict

log = get_logger(__name__)

A = TypeVar("A", bound=Aggregate)

ROOM_GONE = "reconciliation: room not in LiveKit"
PARTICIPANT_GONE = "reconciliation: participant not in LiveKit"
RECONCILIATION_CONTEXT = CommandContext.system("reconciliation")


class ReconciliationSettings(BaseSettings):
    """From ``PULSE_RECONCILIATION_*``; construct directly in tests (``_env_file=None``)."""

    model_config = SettingsConfigDict(
        env_prefix="PULSE_RECONCILIATION_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    interval_seconds: int = Field(default=60, ge=1, le=3600)
    """How often the worker runs a pass."""

    grace_seconds: float = Field(default=30.0, ge=0)
    """How long something must have been missing from LiveKit before it is closed,
    so that a webhook still being delivered (LiveKit retries) closes it exactly."""

    presence_ttl_seconds: int = Field(default=86_400, ge=60)
    """How long what a pass observed (``media_presence``) is kept in Redis."""


@dataclass(frozen=True)
class Closure:
    aggregate_id: UUID
    ended_at: datetime
    reason: str


@dataclass
class ReconciliationReport:
    open_rooms: int = 0
    open_sessions: int = 0
    missing: int = 0
    """Rooms and sessions missing from LiveKit, closed or still in their grace period."""
    rooms_closed: int = 0
    sessions_closed: int = 0
    skipped: str | None = None
    """Why the pass closed nothing without looking (LiveKit could not be listed)."""

    def as_dict(self) -> dict[str, int | str | None]:
        return asdict(self)


@dataclass
class Sorting:
    """The open rooms and sessions, sorted by what LiveKit said of them."""

    present: list[str] = field(default_factory=list)
    gone_rooms: list[Document] = field(default_factory=list)
    gone_sessions: list[tuple[Document, str]] = field(default_factory=list)

    def gone_ids(self) -> list[str]:
        return [r["_id"] for r in self.gone_rooms] + [s["_id"] for s, _ in self.gone_sessions]


def sort_out(rooms: list[Document], sessions: list[Document], inventory: Inventory) -> Sorting:
    sorting = Sorting()
    for room in rooms:
        if room["livekit_sid"] in inventory.rooms:
            sorting.present.append(room["_id"])
        else:
            sorting.gone_rooms.append(room)
    for session in sessions:
        live = inventory.participants.get(session["room_sid"])
        if live is None:
            sorting.gone_sessions.append((session, ROOM_GONE))
        elif session["participant_sid"] in live:
            sorting.present.append(session["_id"])
        else:
            sorting.gone_sessions.append((session, PARTICIPANT_GONE))
    return sorting


def _latest(*moments: datetime | None) -> datetime:
    return max(as_utc(moment) for moment in moments if moment is not None)


def _track_times(session: Document) -> list[datetime | None]:
    return [t.get(k) for t in session.get("tracks", []) for k in ("published_at", "unpublished_at")]


def plan_closures(
    sorting: Sorting,
    missing_since: Mapping[str, datetime],
    seen: Mapping[str, datetime],
    now: datetime,
    grace: timedelta,
    session_ends: Mapping[str, datetime] | None = None,
) -> tuple[list[Closure], list[Closure]]:
    """(rooms, sessions) to close now, each at its last known presence.

    ``session_ends``: by room id, the latest end of its sessions closed before this
    pass (a ``participant_left`` proves the room was live then, even if no listing
    saw it so late).
    """

    def due(doc_id: str) -> bool:
        if not grace:
            return True
        since = missing_since.get(doc_id)
        return since is not None and now - as_utc(since) >= grace

    sessions: list[Closure] = []
    ends_by_room: dict[str, list[datetime]] = {}
    for session, reason in sorting.gone_sessions:
        doc_id = session["_id"]
        if not due(doc_id):
            continue
        ended = _latest(session["joined_at"], seen.get(doc_id), *_track_times(session))
        sessions.append(Closure(UUID(doc_id), ended, reason))
        ends_by_room.setdefault(session["room_id"], []).append(ended)
    rooms: list[Closure] = []
    for room in sorting.gone_rooms:
        doc_id = room["_id"]
        if not due(doc_id):
            continue
        ended = _latest(
            room["started_at"],
            seen.get(doc_id),
            (session_ends or {}).get(doc_id),
            *ends_by_room.get(doc_id, []),
        )
        rooms.append(Closure(UUID(doc_id), ended, ROOM_GONE))
    return rooms, sessions


def _close_each(
    app: PulseApplication,
    kind: type[A],
    closures: Iterable[Closure],
    close: Callable[[A, Closure], bool],
) -> list[UUID]:
    """Apply each closure in its own save; the ids of those that changed something."""
    closed: list[UUID] = []
    for closure in closures:

        def command(closure: Closure = closure) -> bool:
            aggregate = app.load(closure.aggregate_id, kind)
            if not close(aggregate, closure):
                return False  # Closed already: by its webhook, or by another pass.
            app.save(aggregate)
            return True

        try:
            if retry_on_conflict(command):
                closed.append(closure.aggregate_id)
        except (NotFoundError, ConflictError) as error:
            # One stubborn aggregate must not stop the others; the next pass retries it.
            log.warning(
                "reconciliation_close_failed",
                kind=kind.__name__,
                aggregate_id=str(closure.aggregate_id),
                error=str(error),
            )
    return closed


def close_sessions(
    app: PulseApplication, closures: Iterable[Closure], context: CommandContext
) -> list[UUID]:
    def close(session: ParticipantSession, closure: Closure) -> bool:
        return session.leave(closure.ended_at, ClosedBy.RECONCILIATION, closure.reason, context)

    return _close_each(app, ParticipantSession, closures, close)


def close_rooms(
    app: PulseApplication, closures: Iterable[Closure], context: CommandContext
) -> list[UUID]:
    def close(room: Room, closure: Closure) -> bool:
        return room.end(closure.ended_at, ClosedBy.RECONCILIATION, closure.reason, context)

    return _close_each(app, Room, closures, close)


async def reconcile(
    app: PulseApplication,
    database: AsyncDatabase[Document],
    gateway: LiveKitGateway,
    redis: Redis,
    key_prefix: str,
    options: ReconciliationSettings,
    context: CommandContext = RECONCILIATION_CONTEXT,
) -> ReconciliationReport:
    """One pass; see the module's docstring. Safe to run beside webhooks and other passes."""
    rooms, sessions = await asyncio.gather(every_open_room(database), every_open_session(database))
    report = ReconciliationReport(open_rooms=len(rooms), open_sessions=len(sessions))
    if not rooms and not sessions:
        return report  # Nothing to check: LiveKit is not even asked.
    try:
        inventory = await take_inventory(gateway, {s["room_sid"] for s in sessions})
    except MediaUnavailableError as error:
        log.warning("reconciliation_skipped", error=str(error))
        report.skipped = str(error)
        return report
    sorting = sort_out(rooms, sessions, inventory)
    gone = sorting.gone_ids()
    report.missing = len(gone)
    missing_since = await media_presence.record_listing(
        redis, key_prefix, sorting.present, gone, inventory.listed_at, options.presence_ttl_seconds
    )
    seen = await media_presence.last_seen(redis, key_prefix, gone)
    session_ends = await latest_session_ends(database, [r["_id"] for r in sorting.gone_rooms])
    room_closures, session_closures = plan_closures(
        sorting,
        missing_since,
        seen,
        inventory.listed_at,
        timedelta(seconds=options.grace_seconds),
        session_ends,
    )
    # Sessions first: a room's end is placed after its sessions' ends.
    closed_sessions = await asyncio.to_thread(close_sessions, app, session_closures, context)
    closed_rooms = await asyncio.to_thread(close_rooms, app, room_closures, context)
    report.sessions_closed, report.rooms_closed = len(closed_sessions), len(closed_rooms)
    await media_presence.forget(
        redis, key_prefix, [c.aggregate_id for c in (*room_closures, *session_closures)]
    )
    if report.sessions_closed or report.rooms_closed:
        log.info("reconciliation_closed", **report.as_dict())
    return report
