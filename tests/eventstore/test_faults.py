"""Faults the library's suites do not cover: crashes, stalls, stale writers, races.

All run against the real FerretDB server; "another process" is either a real OS
process (when it must be SIGKILLed) or a recorder with its own client and locks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import pytest
from bson.int64 import Int64
from eventsourcing.persistence import IntegrityError, StoredEvent, Tracking

from pulse.eventstore import (
    MongoApplicationRecorder,
    MongoDatastore,
    MongoProcessRecorder,
    MongoTrackingRecorder,
)
from pulse.eventstore.commit_log import LeaseLostError
from tests.eventstore.conftest import STORE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def events_of(originator: UUID | str, count: int, first_version: int = 1) -> list[StoredEvent]:
    return [
        StoredEvent(originator, version, "topic", f"state-{version}".encode())
        for version in range(first_version, first_version + count)
    ]


def committed_ids(recorder: MongoApplicationRecorder) -> list[int]:
    return [n.id for n in recorder.select_notifications(None, 10_000)]


def physical_ids_above(recorder: MongoApplicationRecorder, hwm: int) -> list[int]:
    return sorted(int(d["_id"]) for d in recorder.events.find({"_id": {"$gt": Int64(hwm)}}))


@contextmanager
def paused(target: Any, method: str) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Make ``target.method`` stop on entry until released; yields (reached, release)."""
    reached, release = threading.Event(), threading.Event()
    original: Callable[..., Any] = getattr(target, method)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        reached.set()
        assert release.wait(30), "test never released the paused call"
        return original(*args, **kwargs)

    setattr(target, method, wrapper)
    try:
        yield reached, release
    finally:
        release.set()
        setattr(target, method, original)


def in_thread(function: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = function()
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("stop_point", ["before-commit", "mid-insert"])
def test_killed_writer_leaves_nothing_visible_and_the_store_recovers(
    recorder: MongoApplicationRecorder, stop_point: str
) -> None:
    assert recorder.insert_events(events_of("settled", 3)) == [1, 2, 3]
    writer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.eventstore.stalled_writer",
            STORE,
            "doomed",
            "10",
            stop_point,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().startswith("STALLED 4 13")
        # The dead writer's documents are physically there: the test is meaningful.
        assert physical_ids_above(recorder, 3)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)

    assert recorder.max_notification_id() == 3
    assert committed_ids(recorder) == [1, 2, 3]
    assert recorder.select_events("doomed") == []

    started = time.monotonic()
    assert recorder.insert_events(events_of("survivor", 2)) == [4, 5]
    assert time.monotonic() - started < 10, "the dead writer's lease was not taken over"
    # The dead writer's ids were reused and its aggregate can be written afresh.
    assert recorder.insert_events(events_of("doomed", 10)) == list(range(6, 16))
    assert committed_ids(recorder) == list(range(1, 16))
    assert [e.state for e in recorder.select_events("doomed")] == [
        f"state-{v}".encode() for v in range(1, 11)
    ]
    # No claim is left open: the next save needs no takeover.
    started = time.monotonic()
    assert recorder.insert_events(events_of("later", 1)) == [16]
    assert time.monotonic() - started < 0.5


def test_reader_never_moves_past_an_id_a_slower_writer_commits_later(
    recorder: MongoApplicationRecorder, other_process_recorder: MongoApplicationRecorder
) -> None:
    with paused(recorder.writer.commit_log, "seal") as (reached, release):
        slow, slow_outcome = in_thread(lambda: recorder.insert_events(events_of("slow", 3)))
        assert reached.wait(10)
        fast, fast_outcome = in_thread(
            lambda: other_process_recorder.insert_events(events_of("fast", 2))
        )
        time.sleep(0.3)  # Give the fast writer every chance to overtake.
        assert physical_ids_above(recorder, 0) == [1, 2, 3]
        assert recorder.max_notification_id() is None
        assert recorder.select_notifications(None, 10) == []
        assert recorder.select_events("slow") == []
        release.set()
        slow.join(10)
        fast.join(10)
    assert slow_outcome == {"result": [1, 2, 3]}
    assert fast_outcome == {"result": [4, 5]}
    assert [(n.id, n.originator_id) for n in recorder.select_notifications(None, 10)] == [
        (1, "slow"),
        (2, "slow"),
        (3, "slow"),
        (4, "fast"),
        (5, "fast"),
    ]


def test_failed_batch_never_exposes_its_first_events(recorder: MongoApplicationRecorder) -> None:
    recorder.insert_events(events_of("taken", 1, first_version=2))
    clash = [*events_of("innocent", 2), *events_of("taken", 1, first_version=2)]
    # Pause the failed save after its first events were inserted, before cleanup.
    with paused(recorder.writer, "_remove_uncommitted") as (reached, release):
        failing, outcome = in_thread(lambda: recorder.insert_events(clash))
        assert reached.wait(10)
        assert physical_ids_above(recorder, 1) == [2, 3]
        assert recorder.select_events("innocent") == []
        assert committed_ids(recorder) == [1]
        release.set()
        failing.join(10)
    assert isinstance(outcome.get("error"), IntegrityError)
    assert physical_ids_above(recorder, 1) == []
    assert recorder.insert_events(events_of("next", 1)) == [2]


def test_stale_writer_is_fenced_out_after_takeover(
    recorder: MongoApplicationRecorder, other_process_recorder: MongoApplicationRecorder
) -> None:
    with paused(recorder.writer.commit_log, "seal") as (reached, release):
        stale, stale_outcome = in_thread(lambda: recorder.insert_events(events_of("stale", 3)))
        assert reached.wait(10)
        # The other writer waits out the silent lease, takes it over, and reuses ids 1..2.
        assert other_process_recorder.insert_events(events_of("successor", 2)) == [1, 2]
        release.set()
        stale.join(10)
    assert isinstance(stale_outcome.get("error"), LeaseLostError)
    assert recorder.select_events("stale") == []
    assert [n.originator_id for n in recorder.select_notifications(None, 10)] == [
        "successor",
        "successor",
    ]
    # The stale writer removed only its own leftovers, never its successor's events.
    assert physical_ids_above(recorder, 2) == []
    assert recorder.insert_events(events_of("after", 1)) == [3]


def test_save_of_several_aggregates_lands_whole_or_not_at_all(
    recorder: MongoApplicationRecorder,
) -> None:
    recorder.insert_events(events_of("b", 1, first_version=3))
    batch = [*events_of("a", 2), *events_of("b", 3), *events_of("c", 2)]  # b v3 clashes
    with pytest.raises(IntegrityError):
        recorder.insert_events(batch)
    assert committed_ids(recorder) == [1]
    assert recorder.select_events("a") == []
    assert recorder.select_events("c") == []
    assert recorder.insert_events([*events_of("a", 2), *events_of("c", 2)]) == [2, 3, 4, 5]


def test_committed_events_are_never_changed_by_failed_or_racing_saves(
    recorder: MongoApplicationRecorder, other_process_recorder: MongoApplicationRecorder
) -> None:
    recorder.insert_events([*events_of("x", 3), *events_of("y", 2)])
    before = list(recorder.events.find({}).sort("_id", 1))
    for attempt in ([*events_of("z", 1), *events_of("x", 1)], events_of("y", 1, 2)):
        with pytest.raises(IntegrityError):
            other_process_recorder.insert_events(attempt)
    with paused(recorder.writer.commit_log, "seal") as (reached, release):
        stale, _ = in_thread(lambda: recorder.insert_events(events_of("stale", 2)))
        assert reached.wait(10)
        other_process_recorder.insert_events(events_of("w", 1))
        release.set()
        stale.join(10)
    after = list(recorder.events.find({"_id": {"$lte": Int64(5)}}).sort("_id", 1))
    assert after == before


def test_processes_writing_while_subscribers_tail_see_every_id_once_in_order(
    recorder: MongoApplicationRecorder,
) -> None:
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.eventstore.concurrent_writer", STORE, f"p{n}", "40"],
            cwd=ROOT,
        )
        for n in range(3)
    ]
    seen: list[list[Any]] = [[], []]
    done = threading.Event()

    def tail(into: list[Any]) -> None:
        with recorder.subscribe(gt=None) as subscription:
            for notification in subscription:
                into.append(notification)
                if done.is_set() and notification.id == recorder.max_notification_id():
                    break

    tails = [threading.Thread(target=tail, args=(into,), daemon=True) for into in seen]
    for t in tails:
        t.start()
    for writer in writers:
        assert writer.wait(120) == 0
    done.set()
    total = recorder.max_notification_id()
    assert total is not None
    assert total >= 120
    recorder.insert_events(events_of("final", 1))  # Wakes tails that are already level.
    for t in tails:
        t.join(60)
    for notifications in seen:
        ids = [n.id for n in notifications]
        assert ids[: total + 1] == list(range(1, total + 2))
    # Each save's events are contiguous and in version order (no interleaving).
    by_originator: dict[str, list[tuple[int, int]]] = {}
    for n in seen[0]:
        by_originator.setdefault(n.originator_id, []).append((n.id, n.originator_version))
    for originator, pairs in by_originator.items():
        first_id = pairs[0][0]
        assert pairs == [(first_id + i, i + 1) for i in range(len(pairs))], originator


def test_uuid_and_str_originator_ids_round_trip_with_their_types(
    recorder: MongoApplicationRecorder,
) -> None:
    as_uuid = uuid4()
    as_text = as_uuid.hex  # The same characters, but a str: must stay a str.
    recorder.insert_events([*events_of(as_uuid, 1), *events_of(as_text, 1)])
    (from_uuid,) = recorder.select_events(as_uuid)
    (from_text,) = recorder.select_events(as_text)
    assert isinstance(from_uuid.originator_id, UUID)
    assert from_uuid.originator_id == as_uuid
    assert type(from_text.originator_id) is str
    assert from_text.originator_id == as_text
    assert [type(n.originator_id) for n in recorder.select_notifications(None, 5)] == [UUID, str]


def test_tracking_positions_of_awkwardly_named_applications_stay_apart(
    datastore: MongoDatastore,
) -> None:
    recorder = MongoProcessRecorder(datastore, "process_events")
    recorder.create_table()
    names = ["billing.v2", "$usage", "billing%2Ev2", "billing", "a~b"]
    for position, name in enumerate(names, start=10):
        recorder.insert_events(events_of(name, 1), tracking=Tracking(name, position))
    assert [recorder.max_tracking_id(name) for name in names] == [10, 11, 12, 13, 14]
    with pytest.raises(IntegrityError):
        recorder.insert_events(events_of("late", 1), tracking=Tracking("billing.v2", 10))
    assert recorder.select_events("late") == []


def test_a_forgotten_consumer_starts_again_from_the_beginning(datastore: MongoDatastore) -> None:
    recorder = MongoTrackingRecorder(datastore, "forget_tracking")
    recorder.create_table()
    recorder.insert_tracking(Tracking("projection", 7))
    recorder.insert_tracking(Tracking("other", 3))

    recorder.forget("projection")

    assert recorder.max_tracking_id("projection") is None
    assert recorder.max_tracking_id("other") == 3
    recorder.insert_tracking(Tracking("projection", 1))
    assert recorder.max_tracking_id("projection") == 1
