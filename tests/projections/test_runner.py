"""The runner: pages, positions, idempotent replays, rebuilds, unknown events."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import StoredEvent
from pymongo.database import Database

from pulse.config import Settings
from pulse.domain.user import User
from pulse.projections import users
from pulse.projections.collections import USAGE_REDO
from pulse.projections.lock import ProjectionLock
from pulse.projections.model import Document, Handler
from pulse.projections.options import ProjectionSettings
from pulse.projections.registry import PROJECTIONS, projection_named
from pulse.projections.runner import (
    ProjectionsFailedError,
    catch_up,
    catch_up_all,
    rebuild,
)
from pulse.projections.status import projection_statuses
from pulse.projections.store import tracking_recorder
from pulse.services.application import PulseApplication
from tests.projections.scenario import CTX, build_world, register
from tests.projections.support import CrashError, crashing_after, snapshot, wrapped


class Gadget(Aggregate):
    """An aggregate no projection knows."""

    @event("Made")
    def __init__(self, colour: str) -> None:
        self.colour = colour


def positions(pulse_app: PulseApplication, settings: Settings) -> dict[str, int]:
    return {s.name: s.position for s in projection_statuses(pulse_app, settings)}


def newest(pulse_app: PulseApplication) -> int:
    return pulse_app.recorder.max_notification_id() or 0


def test_catch_up_reads_in_pages_and_records_the_position(
    pulse_app: PulseApplication, database: Database[Document], settings: Settings
) -> None:
    for n in range(7):
        register(pulse_app, f"user{n}@example.test")
    options = ProjectionSettings(_env_file=None, page_size=3)

    result = catch_up(users.PROJECTION, pulse_app, database, settings, options)

    assert (result.position, result.applied, result.read, result.busy) == (7, 7, 7, False)
    tracking = tracking_recorder(pulse_app, settings)
    assert tracking.max_tracking_id("users") == 7
    # One recorded position per page: 3, 6, 7.
    recorded = tracking.tracking.find({"application_name": "users"})
    assert sorted(int(d["notification_id"]) for d in recorded) == [3, 6, 7]
    assert database["rm_users"].count_documents({}) == 7

    again = catch_up(users.PROJECTION, pulse_app, database, settings, options)

    assert (again.position, again.applied, again.read) == (7, 0, 0)


def test_pages_end_where_the_tracking_recorder_collects_old_positions(
    pulse_app: PulseApplication, database: Database[Document], settings: Settings
) -> None:
    pulse_app.save(*(User(f"u{n}@example.test", "U", "hash", CTX) for n in range(1600)))
    options = ProjectionSettings(_env_file=None, page_size=500)

    result = catch_up(users.PROJECTION, pulse_app, database, settings, options)

    assert (result.position, result.applied) == (1600, 1600)
    tracking = tracking_recorder(pulse_app, settings)
    recorded = tracking.tracking.find({"application_name": "users"})
    # Pages of at most 500 ending on each multiple of 256; 256 itself was collected.
    assert sorted(int(d["notification_id"]) for d in recorded) == [512, 768, 1024, 1280, 1536, 1600]


def test_replaying_from_zero_changes_no_document(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings,
) -> None:
    build_world(pulse_app)
    catch_up_all(pulse_app, database, settings, options)
    before = snapshot(database)
    tracking = tracking_recorder(pulse_app, settings)
    for projection in PROJECTIONS:
        tracking.forget(projection.name)  # As if no position had ever been recorded.

    results = catch_up_all(pulse_app, database, settings, options)

    assert sum(result.applied for result in results) > 0
    assert snapshot(database) == before


def test_a_run_that_dies_mid_page_is_finished_by_the_next_one_exactly(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
) -> None:
    build_world(pulse_app)
    options = ProjectionSettings(_env_file=None, page_size=4)
    projects = projection_named("projects")
    crashes = 0
    for crash_after in (2, 1, 3):
        crashing = wrapped(projects, crashing_after(crash_after))
        try:
            catch_up(crashing, pulse_app, database, settings, options)
        except CrashError:
            crashes += 1
    assert crashes >= 2
    # The pages applied in part are replayed whole by the next run.
    catch_up(projects, pulse_app, database, settings, options)
    after_crashes = snapshot(database)

    rebuild(projects, pulse_app, database, settings, options)

    assert snapshot(database) == after_crashes
    assert database["rm_api_keys"].count_documents({}) == 5


def test_rebuilding_every_projection_reproduces_identical_documents(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings,
) -> None:
    build_world(pulse_app)
    catch_up_all(pulse_app, database, settings, options)
    before = snapshot(database)
    # Every read model has documents, so the comparison below means something; the
    # usage replay's redo record exists only while a crashed rewrite waits to be redone.
    assert all(documents for name, documents in before.items() if name != USAGE_REDO)
    assert before[USAGE_REDO] == []
    indexes = database["rm_api_keys"].index_information()

    for projection in PROJECTIONS:
        result = rebuild(projection, pulse_app, database, settings, options)
        assert result.position == newest(pulse_app)
        assert result.applied > 0

    assert snapshot(database) == before
    assert database["rm_api_keys"].index_information() == indexes  # Indexes kept.
    assert database["projection_locks"].count_documents({"_id": {"$regex": "^projection:"}}) == 0


def test_rebuild_removes_documents_no_event_explains(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings,
) -> None:
    register(pulse_app, "a@example.test")
    catch_up_all(pulse_app, database, settings, options)
    database["rm_users"].insert_one({"_id": "stray", "email": "x", "version": 1})

    rebuild(users.PROJECTION, pulse_app, database, settings, options)

    assert [d["email"] for d in database["rm_users"].find()] == ["a@example.test"]


def test_events_of_unknown_classes_and_topics_are_skipped(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings,
) -> None:
    register(pulse_app, "before@example.test")
    pulse_app.save(Gadget("red"))
    # An event from a newer version of Pulse: its class does not exist here.
    pulse_app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=uuid4(),
                originator_version=1,
                topic="pulse.domain.user:User.Renamed",
                state=b'{"name": "x"}',
            )
        ]
    )
    register(pulse_app, "after@example.test")

    results = catch_up_all(pulse_app, database, settings, options)

    assert {r.name: r.position for r in results} == {p.name: 4 for p in PROJECTIONS}
    emails = sorted(d["email"] for d in database["rm_users"].find())
    assert emails == ["after@example.test", "before@example.test"]


def test_events_arriving_during_a_run_are_applied_by_that_run(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings,
) -> None:
    register(pulse_app, "first@example.test")
    saved: list[str] = []

    def saving_another(handler: Handler) -> Handler:
        def handle(db: Database[Document], event: Any) -> None:
            handler(db, event)
            if len(saved) < 3:  # Each event applied makes another one arrive.
                saved.append(str(register(pulse_app, f"later{len(saved)}@example.test").id))

        return handle

    result = catch_up(wrapped(users.PROJECTION, saving_another), pulse_app, database, settings)

    assert result.applied == 4
    assert result.position == newest(pulse_app) == 4
    assert database["rm_users"].count_documents({}) == 4


def test_an_event_committed_as_the_lock_is_released_is_not_left_behind(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its wake-up found the lock busy, so the releasing run must pick it up."""
    register(pulse_app, "first@example.test")
    real_release = ProjectionLock.release
    releases: list[int] = []

    def release_then_commit(lock: ProjectionLock) -> None:
        real_release(lock)
        if not releases:
            register(pulse_app, "late@example.test")
        releases.append(1)

    monkeypatch.setattr(ProjectionLock, "release", release_then_commit)

    result = catch_up(users.PROJECTION, pulse_app, database, settings, options)

    assert result.position == newest(pulse_app) == 2
    assert result.applied == 2
    assert len(releases) == 2


def test_a_recorded_position_left_behind_by_overlapping_runners_does_not_stall(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
) -> None:
    """On FerretDB, overlapping runners can leave the recorder's "latest" one step back."""
    for n in range(4):
        register(pulse_app, f"user{n}@example.test")
    options = ProjectionSettings(_env_file=None, page_size=2)
    catch_up(users.PROJECTION, pulse_app, database, settings, options)
    tracking = tracking_recorder(pulse_app, settings)
    tracking.tracking.update_one({"_id": "latest:users"}, {"$set": {"notification_id": 2}})
    assert tracking.max_tracking_id("users") == 2  # Position 4 is recorded all the same.
    before = snapshot(database)

    stale = catch_up(users.PROJECTION, pulse_app, database, settings, options)

    assert (stale.read, stale.busy) == (2, False)  # Replayed 3-4, could not record 4.
    assert snapshot(database) == before
    register(pulse_app, "late@example.test")

    moved_on = catch_up(users.PROJECTION, pulse_app, database, settings, options)

    assert moved_on.position == 5
    assert database["rm_users"].count_documents({}) == 5


def test_a_failing_projection_does_not_stop_the_others_nor_advance(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings,
) -> None:
    register(pulse_app, "a@example.test")
    catch_up_all(pulse_app, database, settings, options)
    register(pulse_app, "b@example.test")
    broken = wrapped(users.PROJECTION, crashing_after(0))
    others = tuple(p for p in PROJECTIONS if p.name != "users")

    with pytest.raises(ProjectionsFailedError, match="users") as failure:
        catch_up_all(pulse_app, database, settings, options, (broken, *others))

    assert isinstance(failure.value.__cause__, CrashError)
    assert positions(pulse_app, settings) == {
        projection.name: 1 if projection.name == "users" else 2 for projection in PROJECTIONS
    }
