"""The commit log of a store: numbered slots, each claimed and sealed by unique inserts.

Why inserts: FerretDB v1 applies an update by reading the document, changing it in
Go and writing it back, so two conditional updates can both succeed. The one write
that is atomic on FerretDB and MongoDB alike is an insert against a unique key.
The commit log is therefore built from inserts only (plus a hint, see below).

Documents in ``<store>_commits``::

    {_id: "claim:<n>", slot: n, writer: <token>, beat: <int>, at: <utc>}
    {_id: "seal:<n>",  slot: n, writer: <token>, hwm: <int>, tracking: {...},
                       aborted: <bool>, at: <utc>}
    {_id: "hint", slot: n, writer: <token>, hwm: <int>, tracking: {...}}

A save claims slot ``n = latest seal + 1`` (the unique ``claim:n`` makes it the only
writer), inserts its events above the latest seal's ``hwm``, and commits by inserting
``seal:n`` with the new ``hwm``: that insert is the commit point. A writer that stops
renewing its claim is replaced: a waiter inserts ``seal:n`` marked aborted, and since
both race for the same key exactly one of "committed" and "aborted" wins.

The ``hint`` is updated after each seal and may lag or even step back under racing
updates on FerretDB; readers start from it and walk forward over existing seals, so
it only saves them the walk. Old slots are garbage-collected by count, keeping the
collection small (FerretDB scans whole collections); the checks that make this safe
are in ``claim`` and ``seal``.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from bson.int64 import Int64
from eventsourcing.persistence import OperationalError, ProgrammingError
from pymongo import errors as mongo_errors
from pymongo.collection import Collection

from pulse.eventstore.datastore import Document, StoreSettings
from pulse.eventstore.documents import tracking_field
from pulse.eventstore.errors import translate, translated_errors

log = structlog.get_logger(__name__)

_MIN_BACKOFF = 0.0005
_MAX_BACKOFF = 0.01
_SEAL_ATTEMPTS = 5
# The hint only shortens readers' walk over new seals; moving it every few commits
# keeps that walk short and saves writers an update per save.
_HINT_EVERY = 4


class LeaseLostError(OperationalError):
    """The claim was aborted (or collected) before it was sealed: nothing was committed."""


class CommitOutcomeUnknownError(OperationalError):
    """The seal was written but could not be confirmed; the save may have committed."""


@dataclass(frozen=True)
class Seal:
    """A committed state of the store: everything up to ``hwm`` is visible."""

    slot: int
    hwm: int
    tracking: Mapping[str, int] = field(default_factory=dict)
    writer: str = ""

    def tracking_position(self, application_name: str) -> int | None:
        return self.tracking.get(tracking_field(application_name))


@dataclass(frozen=True)
class Claim:
    """A held writer slot and the seal it builds on."""

    slot: int
    writer: str
    base: Seal
    claimed_at: float

    def tracking_position(self, application_name: str) -> int | None:
        return self.base.tracking_position(application_name)


def _seal_from(document: Mapping[str, Any]) -> Seal:
    return Seal(
        slot=int(document["slot"]),
        hwm=int(document["hwm"]),
        tracking={k: int(v) for k, v in document.get("tracking", {}).items()},
        writer=str(document.get("writer", "")),
    )


class CommitLog:
    def __init__(self, commits: Collection[Document], settings: StoreSettings) -> None:
        self._commits = commits
        self._settings = settings
        self._known: Seal | None = None
        self._known_lock = threading.Lock()

    # -- set-up ---------------------------------------------------------------

    def initialise(self) -> None:
        """Create slot 0 (an empty store) and the hint; idempotent."""
        genesis: Document = {
            "_id": "seal:0",
            "slot": Int64(0),
            "hwm": Int64(0),
            "tracking": {},
            "aborted": False,
            "writer": "genesis",
            "at": _now(),
        }
        hint: Document = {
            "_id": "hint",
            "slot": Int64(0),
            "hwm": Int64(0),
            "tracking": {},
            "writer": "genesis",
        }
        for document in (genesis, hint):
            try:
                self._commits.insert_one(document)
            except mongo_errors.DuplicateKeyError:
                pass  # Already initialised.
            except mongo_errors.PyMongoError as error:
                raise translate(error) from error

    # -- readers --------------------------------------------------------------

    def latest(self) -> Seal:
        """The newest seal: start at the hint (or what this process saw) and walk on."""
        with translated_errors():
            hint = self._commits.find_one({"_id": "hint"})
            if hint is None:
                msg = (
                    f"Event store '{self._commits.name}' is not initialised: run "
                    "`pulse migrate` (or create the recorder with CREATE_TABLE=y)"
                )
                raise ProgrammingError(msg)
            current = _seal_from(hint)
            known = self._known
            if known is not None and known.slot > current.slot:
                current = known
            walked = 0
            while following := self._commits.find_one({"_id": f"seal:{current.slot + 1}"}):
                current = _seal_from(following)
                walked += 1
        self._remember(current)
        if walked >= _HINT_EVERY:
            # Writers move the hint every few slots; a longer walk means one of them
            # stopped before doing so, and readers should not all pay for it again.
            self._advance_hint(current)
        return current

    # -- writers --------------------------------------------------------------

    def claim(self) -> Claim:
        """Become the only writer of the next slot, replacing a silent holder if needed."""
        deadline = time.monotonic() + self._settings.acquire_timeout
        # Start from what this process last saw: when nobody else wrote since, the
        # claim below succeeds without a single read.
        base = self._known or self.latest()
        while True:
            slot = base.slot + 1
            writer = secrets.token_hex(8)
            if self._insert(
                {
                    "_id": f"claim:{slot}",
                    "slot": Int64(slot),
                    "writer": writer,
                    "beat": Int64(0),
                    "at": _now(),
                }
            ):
                # Our base must still be the very seal we read: had ``slot`` been
                # claimed, sealed and collected long ago, that base would be gone.
                if self._seal_by(base.slot, base.writer):
                    return Claim(slot, writer, base, time.monotonic())
            elif self._await_seal(slot, base, deadline):
                base = self._known or base
                continue
            base = self.latest()

    def _await_seal(self, slot: int, base: Seal, deadline: float) -> bool:
        """Wait, reading only, until ``slot`` is sealed; abort it if its holder went silent.

        Returns True once the slot is sealed (by its holder or by an abort), False
        when the slot has no claim any more (collected: the caller must re-read).
        Waiters never retry the claim insert while the slot is held, so the server
        is not burdened with doomed writes while the holder works.
        """
        backoff = _MIN_BACKOFF
        watched: tuple[str, int] | None = None
        watched_since = checked_at = time.monotonic()
        check_every = self._settings.lease_timeout / 4
        while True:
            sealed = self._find(f"seal:{slot}")
            if sealed is not None:
                self._remember(_seal_from(sealed))
                return True
            now = time.monotonic()
            if watched is None or now - checked_at >= check_every:
                # The holder's heartbeat changes slowly: look at it now and then only.
                holder = self._find(f"claim:{slot}")
                if holder is None:
                    return False
                checked_at = now
                mark = (str(holder["writer"]), int(holder["beat"]))
                if mark != watched:
                    watched, watched_since = mark, now
                elif now - watched_since >= self._settings.lease_timeout:
                    self._abort(slot, base, reason="holder stopped renewing its claim")
                    continue
            if now >= deadline:
                msg = f"Timed out waiting to write to '{self._commits.name}'"
                raise OperationalError(msg)
            time.sleep(random.uniform(backoff / 2, backoff))  # noqa: S311 (jitter)
            backoff = min(backoff * 2, _MAX_BACKOFF)

    def renew(self, claim: Claim) -> None:
        """Heartbeat between long inserts; fails fast if the claim was aborted."""
        with translated_errors():
            self._commits.update_one(
                {"_id": f"claim:{claim.slot}", "writer": claim.writer},
                {"$inc": {"beat": Int64(1)}},
            )
            if self._find(f"seal:{claim.slot}") is not None:
                raise LeaseLostError(f"Slot {claim.slot} of '{self._commits.name}' was aborted")

    def seal(self, claim: Claim, hwm: int, tracking: tuple[str, int] | None) -> Seal:
        """Commit: insert the slot's seal, then confirm it was not a stale re-insert."""
        if time.monotonic() - claim.claimed_at > self._settings.max_hold:
            self.abandon(claim)
            msg = f"Slot {claim.slot} was held longer than {self._settings.max_hold}s"
            raise LeaseLostError(msg)
        positions = dict(claim.base.tracking)
        if tracking is not None:
            positions[tracking_field(tracking[0])] = tracking[1]
        document: Document = {
            "_id": f"seal:{claim.slot}",
            "slot": Int64(claim.slot),
            "writer": claim.writer,
            "hwm": Int64(hwm),
            "tracking": {k: Int64(v) for k, v in positions.items()},
            "aborted": False,
            "at": _now(),
        }
        if not self._insert_confirmed(document):
            msg = f"Slot {claim.slot} of '{self._commits.name}' was aborted before commit"
            raise LeaseLostError(msg)
        # Our claim must still be there: had the slot been aborted and collected while
        # we stalled, our insert would have re-created a seal nobody reads.
        try:
            still_ours = self._claim_by(claim)
        except OperationalError as error:
            msg = f"Slot {claim.slot} of '{self._commits.name}' sealed but not confirmed"
            raise CommitOutcomeUnknownError(msg) from error
        if not still_ours:
            msg = f"Slot {claim.slot} of '{self._commits.name}' was collected; outcome unknown"
            raise CommitOutcomeUnknownError(msg)
        sealed = Seal(claim.slot, hwm, positions, claim.writer)
        self._remember(sealed)
        if claim.slot % _HINT_EVERY == 0:
            self._advance_hint(sealed)
        if claim.slot % self._settings.collect_every == 0:
            self._collect(claim.slot)
        return sealed

    def abandon(self, claim: Claim) -> None:
        """Give a slot up without committing, so waiters need not wait for the timeout."""
        self._abort(claim.slot, claim.base, reason="writer abandoned its save")

    # -- internals ------------------------------------------------------------

    def _abort(self, slot: int, base: Seal, reason: str) -> None:
        aborted = self._insert(
            {
                "_id": f"seal:{slot}",
                "slot": Int64(slot),
                "writer": f"abort-{secrets.token_hex(8)}",
                "hwm": Int64(base.hwm),
                "tracking": {k: Int64(v) for k, v in base.tracking.items()},
                "aborted": True,
                "reason": reason,
                "at": _now(),
            }
        )
        if aborted and reason != "writer abandoned its save":
            log.warning(
                "eventstore.slot_aborted", store=self._commits.name, slot=slot, reason=reason
            )

    def _insert(self, document: Document) -> bool:
        """Insert; False when the key is taken (someone else won that race)."""
        try:
            self._commits.insert_one(document)
        except mongo_errors.DuplicateKeyError:
            return False
        except mongo_errors.PyMongoError as error:
            raise translate(error) from error
        return True

    def _insert_confirmed(self, document: Document) -> bool:
        """Insert a seal, resolving a lost reply by reading who owns the key."""
        for attempt in range(_SEAL_ATTEMPTS):
            try:
                self._commits.insert_one(document)
            except mongo_errors.DuplicateKeyError:
                existing = self._find(str(document["_id"]))
                return existing is not None and existing.get("writer") == document["writer"]
            except mongo_errors.ConnectionFailure:
                time.sleep(0.05 * (attempt + 1))
                continue  # Re-insert: a duplicate then tells us whether the first landed.
            except mongo_errors.PyMongoError as error:
                raise translate(error) from error
            return True
        msg = f"Could not confirm {document['_id']} of '{self._commits.name}'; outcome unknown"
        raise CommitOutcomeUnknownError(msg)

    def _find(self, key: str) -> Document | None:
        with translated_errors():
            return self._commits.find_one({"_id": key})

    def _seal_by(self, slot: int, writer: str) -> bool:
        seal = self._find(f"seal:{slot}")
        return seal is not None and seal.get("writer") == writer

    def _claim_by(self, claim: Claim) -> bool:
        existing = self._find(f"claim:{claim.slot}")
        return existing is not None and existing.get("writer") == claim.writer

    def _remember(self, seal: Seal) -> None:
        with self._known_lock:
            if self._known is None or seal.slot > self._known.slot:
                self._known = seal

    def _advance_hint(self, seal: Seal) -> None:
        try:
            self._commits.update_one(
                {"_id": "hint", "slot": {"$lt": Int64(seal.slot)}},
                {
                    "$set": {
                        "slot": Int64(seal.slot),
                        "hwm": Int64(seal.hwm),
                        "writer": seal.writer,
                        "tracking": {k: Int64(v) for k, v in seal.tracking.items()},
                    }
                },
            )
        except mongo_errors.PyMongoError:
            log.warning("eventstore.hint_not_advanced", store=self._commits.name, slot=seal.slot)

    def _collect(self, slot: int) -> None:
        """Delete slots older than the retained window; the hint has no slot range."""
        try:
            self._commits.delete_many(
                {
                    "slot": {"$lt": Int64(slot - self._settings.retained_slots)},
                    "_id": {"$ne": "hint"},
                }
            )
        except mongo_errors.PyMongoError:
            log.warning("eventstore.collect_failed", store=self._commits.name, slot=slot)


def _now() -> datetime:
    return datetime.now(UTC)
