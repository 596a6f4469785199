"""One runner per projection: the lock document, stale locks, concurrent runners."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.database import Database

from pulse.config import Settings
from pulse.projections import users
from pulse.projections.lock import (
    ProjectionBusyError,
    ProjectionLock,
    ProjectionLockLostError,
)
from pulse.projections.model import Document, Handler
from pulse.projections.options import ProjectionSettings
from pulse.projections.runner import CatchUpResult, catch_up, rebuild
from pulse.services.application import PulseApplication
from tests.projections.scenario import register
from tests.projections.support import wrapped


def lock_for(database: Database[Document], stale_after: float = 60.0) -> ProjectionLock:
    return ProjectionLock(database["projection_locks"], "users", stale_after=stale_after)


def plant_lock(database: Database[Document], owner: str, age: timedelta) -> None:
    """A lock left by another runner whose last heartbeat was ``age`` ago."""
    database["projection_locks"].insert_one(
        {
            "_id": "projection:users",
            "owner": owner,
            "heartbeat_at": datetime.now(UTC) - age,
            "host": "elsewhere",
            "pid": 1,
        }
    )


def test_the_lock_admits_one_holder_until_released(database: Database[Document]) -> None:
    first, second = lock_for(database), lock_for(database)

    assert first.try_acquire()
    assert not second.try_acquire()
    first.renew()
    first.release()
    assert second.try_acquire()
    held = database["projection_locks"].find_one({"_id": "projection:users"})
    assert held is not None
    assert held["owner"] == second.owner


def test_a_busy_projection_makes_a_run_return_at_once(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings,
) -> None:
    register(pulse_app, "a@example.test")
    plant_lock(database, "someone-else", age=timedelta(seconds=1))

    started = time.monotonic()
    result = catch_up(users.PROJECTION, pulse_app, database, settings, options)

    assert time.monotonic() - started < 2
    assert result == CatchUpResult("users", position=0, applied=0, read=0, busy=True)
    assert database["rm_users"].count_documents({}) == 0


def test_a_stale_lock_is_broken_and_the_break_is_recorded(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register(pulse_app, "a@example.test")
    plant_lock(database, "dead-runner", age=timedelta(seconds=30))
    options = ProjectionSettings(_env_file=None, lock_stale_seconds=10)

    result = catch_up(users.PROJECTION, pulse_app, database, settings, options)

    assert (result.busy, result.applied) == (False, 1)
    marker = database["projection_locks"].find_one({"_id": "broken:dead-runner"})
    assert marker is not None
    assert marker["holder"]["owner"] == "dead-runner"
    assert "projection_lock_broken" in capsys.readouterr().out
    assert database["projection_locks"].find_one({"_id": "projection:users"}) is None


def test_only_the_breaker_whose_marker_lands_breaks_the_lock(
    database: Database[Document],
) -> None:
    plant_lock(database, "dead-runner", age=timedelta(seconds=30))
    # Another breaker got there first (its marker is fresh) and is about to delete.
    database["projection_locks"].insert_one(
        {"_id": "broken:dead-runner", "broken_at": datetime.now(UTC)}
    )

    assert not lock_for(database, stale_after=10).try_acquire()
    assert database["projection_locks"].find_one({"_id": "projection:users"}) is not None


def test_a_breaker_that_died_before_deleting_does_not_block_forever(
    database: Database[Document],
) -> None:
    plant_lock(database, "dead-runner", age=timedelta(seconds=30))
    database["projection_locks"].insert_one(
        {"_id": "broken:dead-runner", "broken_at": datetime.now(UTC) - timedelta(seconds=30)}
    )

    assert lock_for(database, stale_after=10).try_acquire()


def test_renewing_a_broken_lock_reports_it_lost(database: Database[Document]) -> None:
    slow = lock_for(database, stale_after=0.001)
    assert slow.try_acquire()
    time.sleep(0.01)
    breaker = lock_for(database, stale_after=0.001)
    assert breaker.try_acquire()  # Broke the stale lock and took it.

    with pytest.raises(ProjectionLockLostError):
        slow.renew()
    slow.release()  # Releasing a lost lock leaves the new holder's alone.
    assert database["projection_locks"].find_one({"_id": "projection:users"}) is not None


def test_two_concurrent_runners_apply_each_event_once(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings,
) -> None:
    for n in range(6):
        register(pulse_app, f"user{n}@example.test")
    applied: list[int] = []
    start = threading.Barrier(2)

    def slow(handler: Handler) -> Handler:
        def handle(db: Database[Document], event: Any) -> None:
            time.sleep(0.05)  # Long enough for the runs to overlap.
            handler(db, event)
            applied.append(event.originator_version)

        return handle

    results: list[CatchUpResult] = []

    def run() -> None:
        start.wait()
        results.append(catch_up(wrapped(users.PROJECTION, slow), pulse_app, database, settings))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(result.busy for result in results) == [False, True]
    assert len(applied) == 6
    assert database["rm_users"].count_documents({}) == 6


def test_rebuild_waits_for_the_lock_then_gives_up(
    pulse_app: PulseApplication, database: Database[Document], settings: Settings
) -> None:
    plant_lock(database, "someone-else", age=timedelta(seconds=1))
    options = ProjectionSettings(_env_file=None, rebuild_lock_wait_seconds=0.3)

    with pytest.raises(ProjectionBusyError, match="users"):
        rebuild(users.PROJECTION, pulse_app, database, settings, options)
