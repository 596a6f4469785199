"""The migrator on the real database: discovery, records, idempotence, the lock."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from pymongo import MongoClient
from pymongo.database import Database

from pulse.config import PROJECT_ROOT, Settings, eventstore_environment
from pulse.eventstore.schema import SEQUENCE_INDEX
from pulse.migrator import (
    LOCK_COLLECTION,
    LOCK_ID,
    MIGRATIONS_COLLECTION,
    MigrationError,
    MigrationLockBusyError,
    Migrator,
    discover,
)

SettingsFactory = Callable[..., Settings]
ALL_MIGRATIONS = discover(PROJECT_ROOT / "migrations")
Document = dict[str, Any]


@pytest.fixture
def database(settings: Settings) -> Iterator[Database[Document]]:
    with MongoClient(settings.mongo_uri, tz_aware=True) as client:
        yield client[settings.mongo_database]


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    return directory


def write_script(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text(body)
    return path


COUNTING = """
import time


def apply(context):
    context.database["applications"].insert_one({{"migration": "{name}"}})
    time.sleep({sleep})
"""


def counting_script(directory: Path, name: str, sleep: float = 0.0) -> Path:
    """A script that records each time it is applied, in the `applications` collection."""
    return write_script(directory, name, COUNTING.format(name=name, sleep=sleep))


def index_named(database: Database[Document], collection: str, name: str) -> Document:
    indexes = {index["name"]: index for index in database[collection].list_indexes()}
    return dict(indexes[name])


# --- the event store migration -------------------------------------------------------


def test_event_store_migration_creates_collections_and_unique_indexes(
    settings: Settings, database: Database[Document]
) -> None:
    applied = Migrator(database, settings).migrate()

    assert [script.id for script in applied] == [script.id for script in ALL_MIGRATIONS]
    assert applied[0].id == "0001_event_store"
    names = set(database.list_collection_names())
    assert {
        "pulse_events",
        "pulse_events_commits",
        "pulse_snapshots",
        "pulse_snapshots_commits",
        "pulse_tracking",
        MIGRATIONS_COLLECTION,
    } <= names
    for events in ("pulse_events", "pulse_snapshots"):
        index = index_named(database, events, SEQUENCE_INDEX)
        assert index["unique"] is True
        assert list(index["key"]) == ["originator_id", "originator_version"]


def test_a_second_run_applies_nothing(settings: Settings, database: Database[Document]) -> None:
    Migrator(database, settings).migrate()

    assert Migrator(database, settings).migrate() == []
    assert database[MIGRATIONS_COLLECTION].count_documents({}) == len(ALL_MIGRATIONS)


def test_each_applied_migration_is_recorded_with_checksum_and_time(
    settings: Settings, database: Database[Document]
) -> None:
    before = datetime.now(UTC)
    Migrator(database, settings).migrate()

    record = database[MIGRATIONS_COLLECTION].find_one({"_id": "0001_event_store"})
    assert record is not None
    script = PROJECT_ROOT / "migrations" / "0001_event_store.py"
    assert record["checksum"] == hashlib.sha256(script.read_bytes()).hexdigest()
    assert record["version"] == 1
    assert before - timedelta(seconds=1) <= record["applied_at"] <= datetime.now(UTC)
    assert record["duration_ms"] >= 0


def test_the_event_store_name_names_the_collections(
    make_settings: SettingsFactory, database: Database[Document]
) -> None:
    Migrator(database, make_settings(eventstore_name="rooms")).migrate()

    names = set(database.list_collection_names())
    assert {"rooms_events", "rooms_snapshots", "rooms_tracking"} <= names
    assert "pulse_events" not in names


class Counter(Aggregate):
    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


class Pulse(Application[Any]):
    """Named like the default event store, so it writes to the migrated pulse_* collections."""

    is_snapshotting_enabled = True


def test_an_application_runs_on_the_migrated_store_without_creating_it(
    make_settings: SettingsFactory, database: Database[Document]
) -> None:
    settings = make_settings(eventstore_create_collections=False)
    Migrator(database, settings).migrate()
    collections_after_migration = set(database.list_collection_names())

    app = Pulse(env=eventstore_environment(settings))
    try:
        counter = Counter()
        counter.increment()
        app.save(counter)
        app.take_snapshot(counter.id)

        assert app.repository.get(counter.id).count == 1
    finally:
        app.close()
    assert database["pulse_events"].count_documents({}) == 2
    assert database["pulse_snapshots"].count_documents({}) == 1
    assert set(database.list_collection_names()) == collections_after_migration


# --- discovery and status ------------------------------------------------------------


def test_scripts_are_discovered_in_version_order(scripts: Path) -> None:
    counting_script(scripts, "0010_later.py")
    counting_script(scripts, "0002_earlier.py")
    write_script(scripts, "__init__.py", "")
    write_script(scripts, "README.md", "not a script")

    found = discover(scripts)

    assert [(script.id, script.version) for script in found] == [
        ("0002_earlier", 2),
        ("0010_later", 10),
    ]


@pytest.mark.parametrize("name", ["1_short.py", "0001-dash.py", "0001_Upper.py", "helper.py"])
def test_a_badly_named_script_is_refused(scripts: Path, name: str) -> None:
    counting_script(scripts, name)

    with pytest.raises(MigrationError, match="NNNN_description"):
        discover(scripts)


def test_a_reused_version_is_refused(scripts: Path) -> None:
    counting_script(scripts, "0003_one.py")
    counting_script(scripts, "0003_other.py")

    with pytest.raises(MigrationError, match="reuses version 0003"):
        discover(scripts)


def test_a_script_without_apply_is_refused(
    make_settings: SettingsFactory, database: Database[Document], scripts: Path
) -> None:
    write_script(scripts, "0001_nothing.py", "x = 1\n")

    with pytest.raises(MigrationError, match="no apply"):
        Migrator(database, make_settings(migrations_dir=scripts)).migrate()


def test_status_shows_applied_pending_changed_and_missing(
    make_settings: SettingsFactory, database: Database[Document], scripts: Path
) -> None:
    settings = make_settings(migrations_dir=scripts)
    changed = counting_script(scripts, "0001_changed.py")
    gone = counting_script(scripts, "0002_gone.py")
    counting_script(scripts, "0003_kept.py")
    Migrator(database, settings).migrate()
    changed.write_text(changed.read_text() + "\n# edited after it was applied\n")
    gone.unlink()
    counting_script(scripts, "0004_new.py")

    status = {entry.id: entry for entry in Migrator(database, settings).status()}

    assert {name: entry.state for name, entry in status.items()} == {
        "0001_changed": "changed",
        "0002_gone": "missing",
        "0003_kept": "applied",
        "0004_new": "pending",
    }
    assert status["0003_kept"].applied_at is not None
    assert status["0004_new"].applied_at is None


def test_a_failing_script_stops_the_run_and_is_not_recorded(
    make_settings: SettingsFactory, database: Database[Document], scripts: Path
) -> None:
    settings = make_settings(migrations_dir=scripts)
    counting_script(scripts, "0001_fine.py")
    write_script(scripts, "0002_broken.py", "def apply(context):\n    raise ValueError('bad')\n")
    counting_script(scripts, "0003_after.py")

    with pytest.raises(MigrationError, match="0002_broken failed"):
        Migrator(database, settings).migrate()

    recorded = [record["_id"] for record in database[MIGRATIONS_COLLECTION].find()]
    assert recorded == ["0001_fine"]
    assert database[LOCK_COLLECTION].find_one({"_id": LOCK_ID}) is None
    assert [entry.id for entry in Migrator(database, settings).pending()] == [
        "0002_broken",
        "0003_after",
    ]


# --- the lock --------------------------------------------------------------------------


def test_concurrent_runs_apply_each_migration_once(
    make_settings: SettingsFactory, database: Database[Document], scripts: Path
) -> None:
    settings = make_settings(migrations_dir=scripts)
    counting_script(scripts, "0001_slow.py", sleep=0.5)
    counting_script(scripts, "0002_also_slow.py", sleep=0.5)
    results: list[list[str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run() -> None:
        # A client per thread, like separate processes have.
        with MongoClient(settings.mongo_uri, tz_aware=True) as client:
            start.wait()
            try:
                applied = Migrator(client[settings.mongo_database], settings).migrate()
                results.append([script.id for script in applied])
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    applied_ids = sorted(name for applied in results for name in applied)
    assert applied_ids == ["0001_slow", "0002_also_slow"]
    assert sorted(len(applied) for applied in results) == [0, 0, 0, 2]
    per_migration = {
        name: database["applications"].count_documents({"migration": f"{name}.py"})
        for name in ("0001_slow", "0002_also_slow")
    }
    assert per_migration == {"0001_slow": 1, "0002_also_slow": 1}
    assert database[LOCK_COLLECTION].find_one({"_id": LOCK_ID}) is None


def test_a_live_lock_makes_another_run_wait_then_give_up(
    make_settings: SettingsFactory, database: Database[Document], scripts: Path
) -> None:
    settings = make_settings(migrations_dir=scripts, migration_lock_wait_seconds=0.5)
    counting_script(scripts, "0001_blocked.py")
    database[LOCK_COLLECTION].insert_one(
        {
            "_id": LOCK_ID,
            "owner": "someone-else",
            "host": "h",
            "pid": 1,
            "acquired_at": datetime.now(UTC),
        }
    )

    with pytest.raises(MigrationLockBusyError, match="another migration run holds the lock"):
        Migrator(database, settings).migrate()

    assert database["applications"].count_documents({}) == 0
    holder = database[LOCK_COLLECTION].find_one({"_id": LOCK_ID})
    assert holder is not None
    assert holder["owner"] == "someone-else"


def test_a_stale_lock_is_broken_with_a_log_line(
    make_settings: SettingsFactory,
    database: Database[Document],
    scripts: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pulse.logging import configure_logging

    settings = make_settings(migrations_dir=scripts, migration_lock_stale_seconds=60)
    configure_logging(settings)
    counting_script(scripts, "0001_unblocked.py")
    database[LOCK_COLLECTION].insert_one(
        {
            "_id": LOCK_ID,
            "owner": "crashed-run",
            "host": "old-host",
            "pid": 99,
            "acquired_at": datetime.now(UTC) - timedelta(hours=1),
        }
    )

    applied = Migrator(database, settings).migrate()

    assert [script.id for script in applied] == ["0001_unblocked"]
    assert database[LOCK_COLLECTION].find_one({"_id": LOCK_ID}) is None
    marker = database[LOCK_COLLECTION].find_one({"_id": "broken:crashed-run"})
    assert marker is not None
    assert marker["holder"]["host"] == "old-host"
    output = capsys.readouterr().out
    assert "migration_lock_broken" in output
    assert "crashed-run" in output
