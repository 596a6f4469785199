"""At most one runner per projection at a time, across processes.

The lock is a document ``{_id: "projection:<name>", owner, heartbeat_at}`` in
``projection_locks``, taken by inserting it: on FerretDB v1 (no atomic conditional
update) and MongoDB alike, only an insert against a unique key is exclusive. The
holder renews ``heartbeat_at`` after each page; a lock not renewed for
``stale_after`` seconds is taken to be left by a dead runner and may be broken.
Breaking is itself guarded by a unique insert of a ``broken:<owner>`` marker, as in
``pulse.migrator``, so two breakers cannot both delete (one of them a fresh lock).

Should two runners ever overlap anyway (a holder stalled past the stale limit),
nothing is corrupted: handlers are version-guarded and each tracking position can
be recorded once only, so the slower runner stops at its next page.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from pulse.logging import get_logger
from pulse.projections.model import Document

log = get_logger(__name__)

POLL_SECONDS = 0.25


class ProjectionLockLostError(Exception):
    """The lock was broken while we held it: another runner may be writing now."""


class ProjectionBusyError(Exception):
    """Another runner held the lock for longer than we were willing to wait."""


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ProjectionLock:
    def __init__(self, collection: Collection[Document], name: str, *, stale_after: float) -> None:
        self.collection = collection
        self.name = name
        self.lock_id = f"projection:{name}"
        self.stale_after = timedelta(seconds=stale_after)
        # One owner per acquisition, so markers of broken locks never collide.
        self.owner = ""

    def try_acquire(self) -> bool:
        """Take the lock if it is free (or stale); False at once if someone holds it."""
        for _ in range(3):  # After a release or a break seen between insert and read.
            owner = uuid.uuid4().hex
            try:
                self.collection.insert_one(
                    {
                        "_id": self.lock_id,
                        "owner": owner,
                        "heartbeat_at": _now(),
                        "host": socket.gethostname(),
                        "pid": os.getpid(),
                    }
                )
            except DuplicateKeyError:
                pass
            else:
                self.owner = owner
                return True
            holder = self.collection.find_one({"_id": self.lock_id})
            if holder is None:
                continue
            if _now() - _aware(holder["heartbeat_at"]) <= self.stale_after:
                return False
            if not self._break(holder):
                return False
        return False

    def acquire(self, wait: float) -> None:
        """Take the lock, waiting up to ``wait`` seconds for the holder to finish."""
        deadline = time.monotonic() + wait
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                raise ProjectionBusyError(
                    f"projection {self.name!r} is being run by another process; "
                    f"gave up after {wait:g} s"
                )
            time.sleep(POLL_SECONDS)

    def renew(self) -> None:
        """Move the heartbeat on; ``ProjectionLockLostError`` if the lock is not ours."""
        result = self.collection.update_one(
            {"_id": self.lock_id, "owner": self.owner}, {"$set": {"heartbeat_at": _now()}}
        )
        if result.matched_count == 0:
            raise ProjectionLockLostError(f"the lock of projection {self.name!r} was broken")

    def release(self) -> None:
        self.collection.delete_one({"_id": self.lock_id, "owner": self.owner})

    def _break(self, holder: Document) -> bool:
        # Only the runner whose marker insert succeeds deletes the stale lock. A marker
        # left by a breaker that died before deleting goes stale too, and then anyone may.
        marker_id = f"broken:{holder['owner']}"
        try:
            self.collection.insert_one(
                {"_id": marker_id, "broken_at": _now(), "lock": self.lock_id, "holder": holder}
            )
        except DuplicateKeyError:
            marker = self.collection.find_one({"_id": marker_id})
            if marker is not None and _now() - _aware(marker["broken_at"]) <= self.stale_after:
                return False
        log.warning(
            "projection_lock_broken",
            projection=self.name,
            reason=f"not renewed for more than {self.stale_after.total_seconds():g} s",
            stale_owner=holder["owner"],
            stale_host=holder.get("host"),
            stale_pid=holder.get("pid"),
            heartbeat_at=_aware(holder["heartbeat_at"]).isoformat(),
        )
        self.collection.delete_one({"_id": self.lock_id, "owner": holder["owner"]})
        return True
