"""Batched projections (``PageWriter``): pages flushed at once, replays idempotent,
rebuilds in one streaming pass over the log."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from pulse.config import Settings
from pulse.projections.model import Document, Projection
from pulse.projections.options import ProjectionSettings
from pulse.projections.runner import catch_up, rebuild
from pulse.services.application import PulseApplication

LEDGER = "rm_test_ledger"
TOTALS = "rm_test_totals"


class Tally(Aggregate):
    @event("Counted")
    def __init__(self, shelf: str, count: int) -> None:
        self.shelf = shelf
        self.count = count

    @event("Recounted")
    def recount(self, count: int) -> None:
        self.count = count


class LedgerWriter:
    """Inserts one entry per event and keeps a per-shelf total guarded by position."""

    def __init__(self, database: Database[Document], fail_after_entries: bool = False) -> None:
        self.database = database
        self.entries: list[Document] = []
        self.deltas: dict[str, list[tuple[int, int]]] = {}
        self.fail_after_entries = fail_after_entries
        self.flushes = 0

    def apply(self, notification_id: int, event: Any) -> None:
        self.entries.append(
            {"_id": f"{event.originator_id}:{event.originator_version}", "n": notification_id}
        )
        shelf = getattr(event, "shelf", None) or "recounts"
        self.deltas.setdefault(shelf, []).append((notification_id, int(event.count)))

    def flush(self) -> None:
        self.flushes += 1
        if self.entries:
            try:
                self.database[LEDGER].insert_many(self.entries, ordered=False)
            except BulkWriteError as error:
                if any(e["code"] != 11000 for e in error.details["writeErrors"]):
                    raise
        self.entries = []
        if self.fail_after_entries:
            raise RuntimeError("crash between the ledger and the totals")
        for shelf, deltas in self.deltas.items():
            doc = self.database[TOTALS].find_one({"_id": shelf}) or {"total": 0, "through": 0}
            fresh = [(n, c) for n, c in deltas if n > doc["through"]]
            if fresh:
                self.database[TOTALS].replace_one(
                    {"_id": shelf},
                    {"total": doc["total"] + sum(c for _, c in fresh), "through": fresh[-1][0]},
                    upsert=True,
                )
        self.deltas = {}


TOPICS = frozenset(
    {
        "tests.projections.test_batched:Tally.Counted",
        "tests.projections.test_batched:Tally.Recounted",
    }
)


def projection(**writer_options: Any) -> Projection:
    return Projection(
        name="test_ledger",
        collections=(LEDGER, TOTALS),
        writer=lambda database: LedgerWriter(database, **writer_options),
        writer_topics=TOPICS,
    )


def fill(app: PulseApplication, saves: int, per_save: int) -> None:
    for save in range(saves):
        tallies = [Tally(shelf=f"s{(save + n) % 3}", count=n + 1) for n in range(per_save)]
        for tally in tallies[::2]:
            tally.recount(count=100)
        app.save(*tallies)


def state(database: Database[Document]) -> tuple[list[Document], list[Document]]:
    return (
        sorted(database[LEDGER].find({}, {"n": 1}), key=lambda d: d["_id"]),
        sorted(database[TOTALS].find({}), key=lambda d: d["_id"]),
    )


@pytest.fixture(autouse=True)
def _empty(database: Database[Document]) -> None:
    database[LEDGER].delete_many({})
    database[TOTALS].delete_many({})


def test_pages_are_flushed_and_replays_count_once(
    pulse_app: PulseApplication, database: Database[Document], settings: Settings
) -> None:
    fill(pulse_app, saves=6, per_save=5)  # 30 creations, 18 recounts
    small = ProjectionSettings(_env_file=None, page_size=7)

    result = catch_up(projection(), pulse_app, database, settings, small)

    ledger, totals = state(database)
    assert result.applied == 48
    assert len(ledger) == 48
    assert sum(t["total"] for t in totals) == 6 * sum(range(1, 6)) + 18 * 100
    # Forget the position: the whole log is handed to the writer again, in pages of
    # other boundaries, and nothing is counted twice.
    from pulse.projections.store import tracking_recorder

    tracking_recorder(pulse_app, settings).forget("test_ledger")
    other = ProjectionSettings(_env_file=None, page_size=11)
    catch_up(projection(), pulse_app, database, settings, other)
    assert state(database) == (ledger, totals)


def test_a_crash_mid_flush_is_repaired_by_the_next_run(
    pulse_app: PulseApplication, database: Database[Document], settings: Settings
) -> None:
    fill(pulse_app, saves=4, per_save=5)
    options = ProjectionSettings(_env_file=None, page_size=500)

    with pytest.raises(RuntimeError, match="crash"):
        catch_up(projection(fail_after_entries=True), pulse_app, database, settings, options)
    assert database[TOTALS].count_documents({}) == 0  # Entries written, totals not.

    catch_up(projection(), pulse_app, database, settings, options)
    ledger, totals = state(database)
    assert len(ledger) == 32
    assert sum(t["total"] for t in totals) == 4 * sum(range(1, 6)) + 12 * 100


def test_rebuild_streams_the_log_once_and_reproduces_the_documents(
    pulse_app: PulseApplication, database: Database[Document], settings: Settings
) -> None:
    fill(pulse_app, saves=30, per_save=20)  # 900 events: several recorded positions
    options = ProjectionSettings(_env_file=None, page_size=256)
    catch_up(projection(), pulse_app, database, settings, options)
    before = state(database)
    database[TOTALS].update_one({"_id": "s1"}, {"$inc": {"total": 7}})  # corrupted

    result = rebuild(projection(), pulse_app, database, settings, options)

    assert state(database) == before
    assert result.position == pulse_app.recorder.max_notification_id()
    assert result.applied == 30 * 30


def test_the_stream_yields_every_notification_in_order(pulse_app: PulseApplication) -> None:
    fill(pulse_app, saves=10, per_save=10)
    newest = pulse_app.recorder.max_notification_id() or 0
    recorder: Any = pulse_app.recorder

    ids = [n.id for n in recorder.stream_notifications(after=newest - 150)]
    tallies = recorder.stream_notifications(after=0, upto=newest, topics=sorted(TOPICS))
    some = [n.id for n in tallies]

    assert ids == list(range(newest - 149, newest + 1))
    assert some == sorted(some)
    assert len(some) >= 150
