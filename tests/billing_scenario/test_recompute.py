"""Issue 4, acceptance 3 (and the crash half of 2): ``pulse billing recompute`` on a period
with thousands of events finds no difference; a corrupted read model is named, and
``pulse projections rebuild usage`` repairs it to the very documents it held.

The period is the signed scenario's (``scenario.py``: the same signed webhooks, into
this module's own Pro project) plus 3,000 participant sessions made directly through
the application and saved in batches (thousands of signed webhooks would take many
minutes through the intake; the sessions are the same aggregates the intake makes).
A rebuild killed mid-replay (SIGKILL, a real process) and caught up afterwards leaves
every bucket as it was: the usage writer's ``applied_through`` guard at work.
"""

from __future__ import annotations

import os
import random
import re
import signal
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from pymongo.database import Database

from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.metering import period_bounds
from pulse.domain.participant_session import ParticipantSession
from pulse.domain.room import ClosedBy, Room
from pulse.projections.collections import USAGE_BUCKETS
from pulse.projections.model import Document
from pulse.projections.options import ProjectionSettings
from pulse.projections.runner import catch_up
from pulse.projections.store import read_model_database, tracking_recorder
from tests.billing_scenario.processes import (
    rebuild_usage_command,
    recompute_command,
    registered,
    run,
    start,
)
from tests.billing_scenario.reading import buckets, generate_invoice, lines_of
from tests.billing_scenario.scenario import (
    drive_signed_egress,
    drive_signed_rooms,
    egress_span,
    pro_organization,
    project_in,
    set_storage,
    signed_day,
)
from tests.billing_scenario.settling import projection, settle, settle_only
from tests.billing_scenario.traffic import Deliveries, add_into, ms_by_hour
from tests.management.world import World
from tests.media.twirp_double import LiveKitMediaDouble

SESSIONS = int(os.environ.get("PULSE_TEST_BULK_SESSIONS", "3000"))
BATCH = 250
LIVEKIT = CommandContext(ActorKind.SYSTEM, "livekit")
SIGNED_PARTICIPANT_MS = 9_015_876  # test_scenario.PARTICIPANT_TOTAL_MS
MS = timedelta(milliseconds=1)


@dataclass
class Bulk:
    project: UUID
    period: str
    participant_ms_by_hour: dict[datetime, int]
    invoice: dict[str, Any]
    original: list[Document]
    """Every usage bucket of the project, as the projection first wrote them."""


def generate_sessions(
    world: World, project: UUID, start: datetime, end: datetime
) -> dict[datetime, int]:
    """``SESSIONS`` closed participant sessions inside [start, end), saved ``BATCH`` at a
    time; their milliseconds per hour, computed here from the times chosen."""
    chance = random.Random(3)
    expected: dict[datetime, int] = {}
    span_ms = (end - start) // MS - 4 * 3_600_000
    pending: list[Room | ParticipantSession] = []
    room: Room | None = None
    for n in range(SESSIONS):
        if n % 50 == 0:
            room_sid = f"RM_{uuid.uuid4().hex[:12]}"
            opened = start + chance.randrange(span_ms) * MS
            room = Room(project, f"bulk-{n // 50}", room_sid, opened, LIVEKIT)
            pending.append(room)
        assert room is not None
        joined = room.started_at + chance.randrange(3_600_000) * MS
        left = joined + chance.randrange(1, 3 * 3_600_000) * MS
        session = ParticipantSession(
            project,
            room.id,
            room.name,
            room.livekit_sid,
            f"PA_{uuid.uuid4().hex[:12]}",
            f"user-{n}",
            f"User {n}",
            joined,
            LIVEKIT,
        )
        session.leave(left, ClosedBy.WEBHOOK, "participant_left", LIVEKIT)
        add_into(expected, ms_by_hour(joined, left))
        pending.append(session)
        if len(pending) >= BATCH:
            world.app.save(*pending)
            pending = []
    if pending:
        world.app.save(*pending)
    return expected


def stored_buckets(database: Database[Document], project: UUID) -> list[Document]:
    return sorted(
        database[USAGE_BUCKETS].find({"project_id": str(project)}), key=lambda d: str(d["_id"])
    )


@pytest.fixture(scope="module")
def bulk(world: World, double: LiveKitMediaDouble) -> Bulk:
    organization = pro_organization(world)
    project = project_in(world, organization, "eu-west")
    key_secret = world.new_key_secret(project)
    settle(world)
    set_storage(world, project)
    day = signed_day()
    deliveries = Deliveries(world.client)
    drive_signed_rooms(world, deliveries, project, day)
    drive_signed_egress(
        world,
        deliveries,
        double,
        key_secret,
        *egress_span(day),
    )
    period = f"{day:%Y-%m}"
    start, end = period_bounds(period)
    expected = generate_sessions(world, project, start, end)
    settle_only(world, "usage")
    invoice = generate_invoice(world.client, world.headers("owner"), project, period)
    settle_only(world, "billing")
    return Bulk(
        project=project,
        period=period,
        participant_ms_by_hour=expected,
        invoice=invoice,
        original=stored_buckets(read_model_database(world.app), project),
    )


def recompute(world: World, bulk: Bulk) -> Any:
    return run(recompute_command(bulk.project, bulk.period), world.settings)


def test_the_bulk_period_is_metered_exactly(world: World, bulk: Bulk) -> None:
    start, end = period_bounds(bulk.period)
    hours = buckets(world.client, world.headers("owner"), bulk.project, "hour", start, end)
    generated_total = sum(bulk.participant_ms_by_hour.values())
    assert sum(h["participant_ms"] for h in hours.values()) == (
        generated_total + SIGNED_PARTICIPANT_MS
    )
    months = buckets(world.client, world.headers("owner"), bulk.project, "month", start, end)
    assert months[start]["participant_ms"] == generated_total + SIGNED_PARTICIPANT_MS
    assert months[start]["egress_ms"] == 525_000
    # An hour the signed scenario did not touch holds exactly the generated sessions.
    day = signed_day()
    signed_hours = {day.replace(hour=h) for h in (9, 10, 11, 12)}
    for hour, ms in bulk.participant_ms_by_hour.items():
        if hour not in signed_hours:
            assert hours[hour]["participant_ms"] == ms, hour
    items = {line[0]: line for line in lines_of(bulk.invoice)}
    assert items["participant_minutes"][2] == generated_total + SIGNED_PARTICIPANT_MS


def test_recompute_of_thousands_of_events_finds_no_difference(world: World, bulk: Bulk) -> None:
    done = recompute(world, bulk)
    assert done.returncode == 0, (registered(), done.stdout, done.stderr)
    out = done.stdout
    assert out.splitlines()[-1] == "No difference.", out
    assert "Buckets: no difference." in out
    assert f"Invoice {bulk.invoice['id']} ({bulk.invoice['status']}): no difference." in out
    # It read the whole period from the store: every generated session's Left, the
    # scenario's four and its egress's Metered, and priced what it folded.
    read = re.search(r"Usage events read: (\d+) .*; (\d+) contributions", out)
    assert read is not None, out
    assert int(read.group(1)) >= SESSIONS + 5
    assert int(read.group(2)) >= SESSIONS + 5
    total = sum(bulk.participant_ms_by_hour.values()) + SIGNED_PARTICIPANT_MS
    assert re.search(rf"participant_minutes\s+{total}\s+participant_ms", out), out


def test_a_corrupted_read_model_is_named_then_repaired_by_rebuild(world: World, bulk: Bulk) -> None:
    database = read_model_database(world.app)
    hours = [d for d in bulk.original if d["granularity"] == "hour" and d["participant_ms"]]
    changed, deleted = hours[len(hours) // 3], hours[2 * len(hours) // 3]
    database[USAGE_BUCKETS].update_one(
        {"_id": changed["_id"]}, {"$set": {"participant_ms": changed["participant_ms"] + 7}}
    )
    database[USAGE_BUCKETS].delete_one({"_id": deleted["_id"]})

    found = recompute(world, bulk)
    assert found.returncode == 1, (registered(), found.stdout, found.stderr)
    named = [line for line in found.stdout.splitlines() if changed["_id"] in line]
    assert any(
        "participant_ms" in line
        and str(changed["participant_ms"] + 7) in line
        and str(changed["participant_ms"]) in line
        for line in named
    ), found.stdout
    gone = [line for line in found.stdout.splitlines() if deleted["_id"] in line]
    assert any(
        "participant_ms" in line and str(deleted["participant_ms"]) in line for line in gone
    ), found.stdout

    rebuilt = run(rebuild_usage_command(), world.settings)
    assert rebuilt.returncode == 0, (registered(), rebuilt.stdout, rebuilt.stderr)
    again = recompute(world, bulk)
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert stored_buckets(database, bulk.project) == bulk.original


def test_a_rebuild_killed_mid_replay_then_caught_up_changes_no_bucket(
    world: World, bulk: Bulk
) -> None:
    database = read_model_database(world.app)
    tracking = tracking_recorder(world.app, world.settings)
    newest = int(world.app.recorder.max_notification_id() or 0)
    usage = projection("usage")
    # Small pages: positions are recorded often, so the kill lands between two of them.
    process = start(rebuild_usage_command(), world.settings, PULSE_PROJECTIONS_PAGE_SIZE="100")
    killed_at: int | None = None
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        position = tracking.max_tracking_id(usage.name) or 0
        if 0 < position < newest and database[USAGE_BUCKETS].estimated_document_count():
            process.send_signal(signal.SIGKILL)
            killed_at = position
            break
        time.sleep(0.01)
    process.wait(timeout=30)
    assert killed_at is not None, (
        "the rebuild finished before it could be killed",
        process.returncode,
    )
    assert process.returncode == -signal.SIGKILL
    partial = stored_buckets(database, bulk.project)

    # The dead process's lock goes stale; a new runner picks up from its last position.
    time.sleep(1.2)
    options = ProjectionSettings(_env_file=None, lock_stale_seconds=1.0)
    result = catch_up(usage, world.app, database, world.settings, options)
    assert not result.busy
    assert result.read > 0  # The killed rebuild had left work to do.
    assert stored_buckets(database, bulk.project) == bulk.original, (
        f"killed at {killed_at} of {newest}; {len(partial)} buckets then"
    )
    done = recompute(world, bulk)
    assert done.returncode == 0, (done.stdout, done.stderr)
