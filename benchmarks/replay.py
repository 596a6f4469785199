"""Replay: events per second rebuilt into the usage and audit read models from a big store.

Generates, in this process, an event store of ``--events`` events (1,000,000 by
default) with the mix of a busy deployment, then rebuilds the ``usage`` and
``audit_log`` projections from it with ``pulse.projections.runner.rebuild``, the code
``pulse projections rebuild <name>`` runs, one after the other.

The store is written into a database of its own (``--database``, default
``pulse_bench_replay``), dropped first and migrated. Its mix, per organization:
users, the organization, its members, two projects with API keys created, rotated
and revoked; then, hour after hour for every project: a room started and ended,
participant sessions joined and left (some stays cross an hour boundary, some last
over an hour), the API requests of the hour (``ApiUsage.Counted``) and, every
fourth hour, an egress through its whole lifecycle (requested, started, stop
requested, complete, metered). Times run from 2026-10-01T00:00Z on; the random
choices are seeded (``--seed``), so two runs of the same size write the same mix.

Generation builds aggregates in memory and saves many at once (``--per-save``
events per ``app.save``, 500 by default): a save costs a handful of round trips
whatever its size, so big saves fill a store far faster than the API's small ones.

Replay: each rebuild empties the read model, forgets its position and replays the
log from the start in one streaming pass (batched projections apply a page at a
time). Reported: events in the store, the events each projection was handed
(usage reads only its topics; the audit log reads every event), seconds, store
events per second, and the documents each read model holds afterwards.

``--keep`` keeps the database after the run, and reuses a store already in it
instead of generating one (so a 1,000,000-event store is generated once and
replayed as often as needed; drop it with ``--drop``).

Usage (services running, e.g. after ``make services``)::

    uv run python benchmarks/replay.py [--events 1000000] [--per-save 500] [--keep]
                                       [--database pulse_bench_replay] [--seed 4]
    uv run python benchmarks/replay.py --drop   # remove a kept store

Run as a script (it imports ``benchmarks/api.py`` as ``api``). Prints Markdown
tables; docs/performance.md records a run and the command.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from typing import Any
from uuid import UUID

from api import guarded
from eventsourcing.domain import Aggregate
from pymongo import MongoClient
from pymongo.database import Database

from pulse.config import Settings
from pulse.domain.api_usage import ApiUsage
from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.egress import (
    Egress,
    EgressKind,
    EgressStatus,
    Layout,
    Observation,
    empty_results,
)
from pulse.domain.member import Member
from pulse.domain.organization import Organization
from pulse.domain.participant_session import ParticipantSession
from pulse.domain.plans import Plan
from pulse.domain.project import Project
from pulse.domain.roles import Role
from pulse.domain.room import ClosedBy, Room
from pulse.domain.user import User
from pulse.logging import configure_logging
from pulse.migrator import Migrator
from pulse.projections.options import ProjectionSettings
from pulse.projections.registry import projection_named
from pulse.projections.runner import rebuild
from pulse.projections.store import newest_notification_id, read_model_database
from pulse.services.application import PulseApplication, create_application

DATABASE = "pulse_bench_replay"
READ_MODELS = ("usage", "audit_log")
START = datetime(2026, 10, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
PROJECTS_PER_ORGANIZATION = 2
EVENTS_PER_ORGANIZATION = 10_000  # About 200 project-hours of activity each.
SESSIONS_PER_HOUR = (6, 14)  # Participant sessions a project starts per hour (range).
EGRESS_EVERY_HOURS = 4
LIVEKIT = CommandContext(ActorKind.SYSTEM, "livekit-webhook")
FLUSH = CommandContext.system("api-usage-flush")
REGIONS = ("eu-west", "us-east")
PLANS = (Plan.FREE, Plan.PRO, Plan.PRO, Plan.ENTERPRISE)


# -- generation -------------------------------------------------------------------------


class Saver:
    """Saves aggregates ``per_save`` events at a time; counts events and saves."""

    def __init__(self, app: PulseApplication, per_save: int) -> None:
        self.app = app
        self.per_save = per_save
        self.pending: list[Aggregate] = []
        self.pending_events = 0
        self.events = 0
        self.saves = 0

    def add(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            self.pending.append(aggregate)
            self.pending_events += len(aggregate.pending_events)
        if self.pending_events >= self.per_save:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.app.save(*self.pending)
            self.events += self.pending_events
            self.saves += 1
            self.pending, self.pending_events = [], 0


@dataclass(frozen=True)
class Tenant:
    project_id: UUID
    key_context: CommandContext
    region: str


def user_context(user_id: UUID, rng: random.Random) -> CommandContext:
    return CommandContext(
        ActorKind.USER,
        str(user_id),
        ip=f"203.0.113.{rng.randrange(1, 255)}",
        user_agent="pulse-dashboard/1.0",
        request_id=uuid.uuid4().hex,
    )


def organization(saver: Saver, number: int, rng: random.Random) -> list[Tenant]:
    """An organization with its users, members, projects and keys (about 20 events)."""
    users = [
        User(
            email=f"user{number}-{n}@bench.example.com",
            name=f"User {number}-{n}",
            password_hash="$argon2id$bench",
            context=CommandContext.system("signup"),
        )
        for n in range(4)
    ]
    owner = users[0]
    setup = user_context(owner.id, rng)
    org = Organization(
        name=f"Org {number}",
        admin_email=f"ops{number}@bench.example.com",
        plan=str(rng.choice(PLANS)),
        creator_id=owner.id,
        context=setup,
    )
    members = [
        Member(
            organization_id=org.id,
            user_id=user.id,
            email=user.email,
            role=str(role),
            context=setup,
        )
        for user, role in zip(
            users, (Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.VIEWER), strict=True
        )
    ]
    tenants: list[Tenant] = []
    projects: list[Project] = []
    for p in range(PROJECTS_PER_ORGANIZATION):
        region = rng.choice(REGIONS)
        project = Project(
            organization_id=org.id,
            name=f"app-{number}-{p}",
            region=region,
            webhook_url=None,
            storage=None,
            context=setup,
        )
        now = START
        for k in range(3):
            project.add_key(f"pk_{number}_{p}_{k}", "media", uuid.uuid4().hex, now, setup)
        project.rotate_key(
            f"pk_{number}_{p}_0", f"pk_{number}_{p}_3", uuid.uuid4().hex, now, now + HOUR, setup
        )
        project.revoke_key(f"pk_{number}_{p}_1", now, setup)
        projects.append(project)
        key = CommandContext(ActorKind.API_KEY, f"pk_{number}_{p}_2", ip="198.51.100.7")
        tenants.append(Tenant(project.id, key, region))
    saver.add(*users, org, *members, *projects)
    return tenants


def hour_of_activity(saver: Saver, tenant: Tenant, hour: datetime, rng: random.Random) -> None:
    """One project's hour: a room, its participant sessions, API requests, maybe an egress."""
    room_sid = f"RM_{uuid.uuid4().hex[:12]}"
    opened = hour + timedelta(seconds=rng.randrange(0, 600))
    room = Room(
        project_id=tenant.project_id,
        name=f"room-{hour:%d%H}",
        livekit_sid=room_sid,
        started_at=opened,
        context=LIVEKIT,
    )
    last_left = opened
    sessions: list[ParticipantSession] = []
    for n in range(rng.randint(*SESSIONS_PER_HOUR)):
        joined = opened + timedelta(
            seconds=rng.randrange(0, 3000), milliseconds=rng.randrange(1000)
        )
        # Mostly short stays, some long ones: many cross into the next hour.
        stay = timedelta(seconds=rng.choice((rng.randrange(30, 1800), rng.randrange(1800, 5400))))
        session = ParticipantSession(
            project_id=tenant.project_id,
            room_id=room.id,
            room_name=room.name,
            room_sid=room_sid,
            participant_sid=f"PA_{n}_{uuid.uuid4().hex[:8]}",
            identity=f"user-{n}",
            name=f"User {n}",
            joined_at=joined,
            context=LIVEKIT,
        )
        session.leave(joined + stay, ClosedBy.WEBHOOK, "participant_left", LIVEKIT)
        last_left = max(last_left, joined + stay)
        sessions.append(session)
    room.end(last_left, ClosedBy.WEBHOOK, "room_finished", LIVEKIT)
    usage = ApiUsage(
        project_id=tenant.project_id,
        hour=hour,
        count=rng.randrange(20, 2000),
        batch=uuid.uuid4().hex,
        context=FLUSH,
    )
    saver.add(room, *sessions, usage)
    if hour.hour % EGRESS_EVERY_HOURS == 0:
        saver.add(egress(tenant, room.name, opened, rng))


def egress(tenant: Tenant, room: str, started: datetime, rng: random.Random) -> Egress:
    """A room recording through its lifecycle: five events, the last one ``Metered``."""
    recording = Egress(
        aggregate_id=uuid.uuid4(),
        project_id=tenant.project_id,
        room=room,
        kind=EgressKind.ROOM_COMPOSITE,
        layout=Layout.GRID,
        audio_only=False,
        audio_track_id=None,
        video_track_id=None,
        track_id=None,
        outputs={"file": {"filepath": f"recordings/{room}.mp4"}},
        playback_url=None,
        region=tenant.region,
        context=tenant.key_context,
    )
    ns = int(started.timestamp() * 1e9)
    active = {"started_at": started, "livekit_status": "EGRESS_ACTIVE"}
    recording.record_started(
        f"EG_{uuid.uuid4().hex[:12]}",
        Observation(EgressStatus.ACTIVE, ns, active),
        tenant.key_context,
    )
    ended = started + timedelta(seconds=rng.randrange(300, 7200))
    recording.record_stopping(Observation(EgressStatus.ENDING, ns + 1), tenant.key_context)
    size = rng.randrange(1_000_000, 2_000_000_000)
    results = {**empty_results(), "files": [{"filename": f"{room}.mp4", "size_bytes": size}]}
    done = {"ended_at": ended, "results": results, "livekit_status": "EGRESS_COMPLETE"}
    recording.observe(Observation(EgressStatus.COMPLETE, ns + 2, done), LIVEKIT)
    return recording


def generate(app: PulseApplication, events: int, per_save: int, seed: int) -> Saver:
    """At least ``events`` events (the last hour is finished), in saves of ``per_save``."""
    rng = random.Random(seed)
    saver = Saver(app, per_save)
    tenants: list[Tenant] = []
    for number in range(max(1, events // EVENTS_PER_ORGANIZATION)):
        tenants += organization(saver, number, rng)
    hour = START
    began = reported = time.monotonic()
    while saver.events + saver.pending_events < events:
        for tenant in tenants:
            hour_of_activity(saver, tenant, hour, rng)
        hour += HOUR
        if time.monotonic() - reported > 30:
            reported = time.monotonic()
            rate = saver.events / (reported - began)
            print(f"  ... {saver.events:,} events saved ({rate:,.0f} events/s)", flush=True)
    saver.flush()
    return saver


# -- replay -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    name: str
    handed: int
    seconds: float
    documents: int


def replay(
    app: PulseApplication,
    database: Database[Any],
    settings: Settings,
    options: ProjectionSettings,
    name: str,
) -> Replay:
    projection = projection_named(name)
    started = time.perf_counter()
    result = rebuild(projection, app, database, settings, options)
    seconds = time.perf_counter() - started
    documents = sum(database[c].count_documents({}) for c in projection.collections)
    return Replay(name, result.applied, seconds, documents)


# -- the run ----------------------------------------------------------------------------


@dataclass
class Run:
    stored: int
    generated: Saver | None
    generation_seconds: float
    replays: list[Replay]


def settings_for(database: str) -> Settings:
    # Below WARNING the runner would log every page of the replay.
    return Settings(mongo_database=database, log_level="WARNING")


def drop(settings: Settings) -> None:
    mongo: MongoClient[dict[str, Any]]
    with MongoClient(settings.mongo_uri) as mongo:
        mongo.drop_database(settings.mongo_database)


def measure(args: argparse.Namespace) -> Run:
    settings = settings_for(args.database)
    configure_logging(settings)
    mongo: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_uri)
    try:
        if not args.keep:
            mongo.drop_database(settings.mongo_database)
        Migrator(mongo[settings.mongo_database], settings).migrate()
        app = create_application(settings)
        try:
            generated, generation_seconds = None, 0.0
            stored = newest_notification_id(app)
            if stored:
                print(f"  reusing the store in {settings.mongo_database}: {stored:,} events")
            else:
                print(f"  generating {args.events:,} events into {settings.mongo_database} ...")
                started = time.perf_counter()
                generated = generate(app, args.events, args.per_save, args.seed)
                generation_seconds = time.perf_counter() - started
                stored = newest_notification_id(app)
                print(
                    f"  generated {stored:,} events in {generation_seconds:.1f} s "
                    f"({stored / generation_seconds:,.0f} events/s, "
                    f"{generated.saves:,} saves)",
                    flush=True,
                )
            database = read_model_database(app)
            options = (
                ProjectionSettings()
                if args.page_size is None
                else ProjectionSettings(page_size=args.page_size)
            )
            print(f"  replaying with pages of {options.page_size:,} events")
            replays = []
            for name in args.read_models:
                done = replay(app, database, settings, options, name)
                print(
                    f"  {name}: {done.handed:,} events handed in {done.seconds:.1f} s "
                    f"({stored / done.seconds:,.0f} store events/s), {done.documents:,} documents",
                    flush=True,
                )
                replays.append(done)
        finally:
            app.close()
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if not args.keep:
            mongo.drop_database(settings.mongo_database)
        mongo.close()
    return Run(stored, generated, generation_seconds, replays)


def report(run: Run) -> None:
    if run.generated is not None and run.generated.saves:
        per_save = run.generated.events / run.generated.saves
        print(
            "\n| generation | events | saves | events/save | seconds | events/s |\n"
            "|---|---:|---:|---:|---:|---:|\n"
            f"| in process, `app.save` of many aggregates | {run.stored:,} | "
            f"{run.generated.saves:,} | {per_save:,.0f} | {run.generation_seconds:.1f} | "
            f"{run.stored / run.generation_seconds:,.0f} |"
        )
    print(
        "\n| read model (rebuild) | events in store | events handed | seconds | "
        "store events/s | documents |\n|---|---:|---:|---:|---:|---:|"
    )
    for done in run.replays:
        print(
            f"| {done.name} | {run.stored:,} | {done.handed:,} | {done.seconds:.1f} | "
            f"{run.stored / done.seconds:,.0f} | {done.documents:,} |"
        )
    if len(run.replays) < 2:
        return
    seconds = sum(done.seconds for done in run.replays)
    names = " + ".join(done.name for done in run.replays)
    print(
        f"| {names} (one after the other) | {run.stored:,} | "
        f"{sum(done.handed for done in run.replays):,} | {seconds:.1f} | "
        f"{run.stored / seconds:,.0f} | {sum(done.documents for done in run.replays):,} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="store size to generate")
    parser.add_argument("--per-save", type=int, default=500, help="events per app.save (500)")
    parser.add_argument("--database", default=DATABASE, help=f"database (default {DATABASE})")
    parser.add_argument(
        "--page-size",
        type=int,
        help="events per flush and recorded position (default: PULSE_PROJECTIONS_PAGE_SIZE)",
    )
    parser.add_argument("--seed", type=int, default=4, help="seed of the random mix")
    parser.add_argument(
        "--read-models",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=list(READ_MODELS),
        help=f"projections to rebuild, comma-separated (default {','.join(READ_MODELS)})",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the store after the run; reuse one if there"
    )
    parser.add_argument("--drop", action="store_true", help="only drop the database, then exit")
    args = parser.parse_args()
    if args.drop:
        drop(settings_for(args.database))
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(
        f"# Replay benchmark (Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"PyMongo {version('pymongo')}, eventsourcing {version('eventsourcing')})\n"
    )
    started = time.monotonic()
    report(guarded(lambda: measure(args)))
    print(f"\nTotal run time: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
