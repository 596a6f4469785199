"""Versioned database migrations: ``migrations/NNNN_description.py``, applied once each.

Every script defines ``apply(context: MigrationContext) -> None``. Applied scripts are
recorded in ``schema_migrations`` (id, checksum, applied_at). A lock document keeps
two ``pulse migrate`` runs from applying the same script twice.

FerretDB v1 has no transactions and no atomic conditional update, so everything that
must be exclusive here is an insert against a unique ``_id``; the one delete that
races (breaking a stale lock) is itself guarded by such an insert. Scripts must be
idempotent: a run that dies between ``apply`` and its record re-applies the script.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast

from pymongo import MongoClient, WriteConcern
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pulse.config import Settings
from pulse.logging import get_logger

log = get_logger(__name__)

Document = dict[str, Any]

MIGRATIONS_COLLECTION = "schema_migrations"
LOCK_COLLECTION = "schema_migrations_lock"
LOCK_ID = "migrate"
LOCK_POLL_SECONDS = 0.25

_SCRIPT_NAME = re.compile(r"(?P<version>\d{4})_(?P<description>[a-z0-9_]+)\.py")


class MigrationError(Exception):
    """A migration could not be discovered, loaded or applied."""


class MigrationLockBusyError(MigrationError):
    """Another run held the lock for longer than we were willing to wait."""


@dataclass(frozen=True, slots=True)
class MigrationContext:
    """What a script's ``apply`` receives."""

    database: Database[Document]
    settings: Settings


@dataclass(frozen=True, slots=True)
class MigrationScript:
    id: str
    version: int
    path: Path
    checksum: str

    def load(self) -> Callable[[MigrationContext], None]:
        module_name = f"_pulse_migration_{self.id}"
        spec = importlib.util.spec_from_file_location(module_name, self.path)
        if spec is None or spec.loader is None:
            raise MigrationError(f"{self.path} cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        finally:
            del sys.modules[module_name]
        apply = getattr(module, "apply", None)
        if not callable(apply):
            raise MigrationError(f"{self.path} defines no apply(context) function")
        return cast(Callable[[MigrationContext], None], apply)


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    id: str
    state: Literal["applied", "pending", "changed", "missing"]
    """``changed``: applied, but the file differs now; ``missing``: applied, file gone."""
    applied_at: datetime | None = None


def discover(directory: Path) -> list[MigrationScript]:
    """The scripts in ``directory``, in version order."""
    if not directory.is_dir():
        raise MigrationError(f"migrations directory {directory} does not exist")
    scripts: dict[int, MigrationScript] = {}
    for path in sorted(directory.glob("*.py")):
        if path.name == "__init__.py":
            continue
        match = _SCRIPT_NAME.fullmatch(path.name)
        if match is None:
            raise MigrationError(f"{path.name} is not named NNNN_description.py")
        version = int(match["version"])
        if version in scripts:
            raise MigrationError(f"{path.name} reuses version {version:04d}")
        scripts[version] = MigrationScript(
            id=path.stem,
            version=version,
            path=path,
            checksum=hashlib.sha256(path.read_bytes()).hexdigest(),
        )
    return [scripts[version] for version in sorted(scripts)]


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # Clients built without tz_aware return naive datetimes, which are UTC in BSON.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class MigrationLock:
    """At most one holder, via a unique insert; a stale holder's lock may be broken."""

    def __init__(
        self,
        collection: Collection[Document],
        *,
        stale_after: float,
        wait: float,
        owner: str | None = None,
    ) -> None:
        self.collection = collection
        self.stale_after = timedelta(seconds=stale_after)
        self.wait = wait
        self.owner = owner or uuid.uuid4().hex

    @contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait
        waiting_logged = False
        while True:
            try:
                self.collection.insert_one(
                    {
                        "_id": LOCK_ID,
                        "owner": self.owner,
                        "host": socket.gethostname(),
                        "pid": os.getpid(),
                        "acquired_at": _now(),
                    }
                )
            except DuplicateKeyError:
                pass
            else:
                log.debug("migration_lock_acquired", owner=self.owner)
                return
            holder = self.collection.find_one({"_id": LOCK_ID})
            if holder is None:
                continue  # Released between our insert and our read: try again now.
            if _now() - _aware(holder["acquired_at"]) > self.stale_after:
                self._break(holder)
                continue
            if not waiting_logged:
                log.info(
                    "migration_lock_waiting",
                    holder_host=holder.get("host"),
                    holder_pid=holder.get("pid"),
                    since=_aware(holder["acquired_at"]).isoformat(),
                )
                waiting_logged = True
            if time.monotonic() >= deadline:
                raise MigrationLockBusyError(
                    f"another migration run holds the lock (host {holder.get('host')}, "
                    f"pid {holder.get('pid')}, since {holder['acquired_at']:%Y-%m-%d %H:%M:%S}); "
                    f"gave up after {self.wait:g} s"
                )
            time.sleep(LOCK_POLL_SECONDS)

    def _break(self, holder: Document) -> None:
        # Only the run whose marker insert succeeds deletes the stale lock, so two
        # breakers cannot delete a fresh lock taken in between. A marker left by a
        # breaker that died before deleting goes stale too, and then anyone may.
        marker_id = f"broken:{holder['owner']}"
        try:
            self.collection.insert_one(
                {"_id": marker_id, "broken_by": self.owner, "broken_at": _now(), "holder": holder}
            )
        except DuplicateKeyError:
            marker = self.collection.find_one({"_id": marker_id})
            if marker is None or _now() - _aware(marker["broken_at"]) <= self.stale_after:
                time.sleep(LOCK_POLL_SECONDS)
                return
        log.warning(
            "migration_lock_broken",
            reason=f"held for more than {self.stale_after.total_seconds():g} s",
            stale_owner=holder["owner"],
            stale_host=holder.get("host"),
            stale_pid=holder.get("pid"),
            acquired_at=holder["acquired_at"].isoformat(),
        )
        self.collection.delete_one({"_id": LOCK_ID, "owner": holder["owner"]})

    def release(self) -> None:
        self.collection.delete_one({"_id": LOCK_ID, "owner": self.owner})
        log.debug("migration_lock_released", owner=self.owner)


class Migrator:
    def __init__(self, database: Database[Document], settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.records: Collection[Document] = database[MIGRATIONS_COLLECTION]

    def scripts(self) -> list[MigrationScript]:
        return discover(self.settings.migrations_dir)

    def applied(self) -> dict[str, Document]:
        return {str(record["_id"]): record for record in self.records.find()}

    def status(self) -> list[MigrationStatus]:
        applied = self.applied()
        statuses: list[MigrationStatus] = []
        for script in self.scripts():
            record = applied.pop(script.id, None)
            if record is None:
                statuses.append(MigrationStatus(script.id, "pending"))
            else:
                state: Literal["applied", "changed"] = (
                    "applied" if record.get("checksum") == script.checksum else "changed"
                )
                statuses.append(MigrationStatus(script.id, state, _aware(record["applied_at"])))
        statuses.extend(
            MigrationStatus(record_id, "missing", _aware(record["applied_at"]))
            for record_id, record in applied.items()
        )
        return statuses

    def pending(self) -> list[MigrationScript]:
        applied = self.applied()
        return [script for script in self.scripts() if script.id not in applied]

    def migrate(self) -> list[MigrationScript]:
        """Apply every pending script, in version order; return those applied."""
        lock = MigrationLock(
            self.database[LOCK_COLLECTION],
            stale_after=self.settings.migration_lock_stale_seconds,
            wait=self.settings.migration_lock_wait_seconds,
        )
        with lock.held():
            # Read under the lock: a run that waited must see what the holder applied.
            pending = self.pending()
            for script in pending:
                self._apply(script, lock.owner)
        return pending

    def _apply(self, script: MigrationScript, owner: str) -> None:
        apply = script.load()
        started = time.perf_counter()
        log.info("migration_applying", migration=script.id)
        try:
            apply(MigrationContext(database=self.database, settings=self.settings))
        except Exception as exc:
            raise MigrationError(f"{script.id} failed: {exc!r}") from exc
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        self.records.insert_one(
            {
                "_id": script.id,
                "version": script.version,
                "checksum": script.checksum,
                "applied_at": _now(),
                "duration_ms": duration_ms,
                "applied_by": {"host": socket.gethostname(), "pid": os.getpid(), "run": owner},
            }
        )
        log.info("migration_applied", migration=script.id, duration_ms=duration_ms)


@contextmanager
def connect(settings: Settings) -> Iterator[Database[Document]]:
    """A synchronous database handle for migrations, closed on exit."""
    client: MongoClient[Document] = MongoClient(
        settings.mongo_uri,
        appname="pulse-migrate",
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=5_000,
    )
    try:
        # Majority, so a lock or record survives a primary failover on MongoDB.
        yield client.get_database(settings.mongo_database, write_concern=WriteConcern(w="majority"))
    finally:
        client.close()
