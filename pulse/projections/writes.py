"""Idempotent writes to read models: a change applies once, whatever the replays.

Each document carries ``version``, the ``originator_version`` of the aggregate event
that last changed it, and a write only applies when its event is newer. A runner
that dies after applying part of a page, before recording its position, replays
that page and changes nothing.

Exclusivity comes from unique ``_id`` inserts (FerretDB v1 has no atomic conditional
update): the version filter only decides whether a change is still due, and only
one runner per projection writes at a time (``lock``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeGuard, overload

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from pulse.projections.model import Document
from pulse.services.clock import as_utc


def create(collection: Collection[Document], doc_id: str, version: int, fields: Document) -> bool:
    """Insert the document a creation makes (an aggregate, a new key); False if done.

    A creation is the first event of its document, so a document already there
    means this event was applied before: the unique ``_id`` turns the replay into a
    duplicate key, which is ignored. (An insert rather than a version-guarded
    upsert: the outcome is the same, and FerretDB inserts without scanning the
    collection, where an upsert first reads it whole.)
    """
    try:
        collection.insert_one({"_id": doc_id, **fields, "version": version})
    except DuplicateKeyError:
        return False
    return True


def change(collection: Collection[Document], doc_id: str, version: int, fields: Document) -> bool:
    """Set ``fields`` on an existing document if ``version`` is newer; False if not.

    No upsert: a change never creates a document, which would be a partial one (a
    creation always comes first in the log, so the document exists unless the
    change is already applied).
    """
    result = collection.update_one(
        {"_id": doc_id, "version": {"$lt": version}},
        {"$set": {**fields, "version": version}},
    )
    return result.matched_count > 0


def due(document: Document | None, version: int) -> TypeGuard[Document]:
    """Whether a read-modify-write change of ``document`` at ``version`` is still due."""
    return document is not None and int(document["version"]) < version


@overload
def utc(moment: datetime) -> datetime: ...
@overload
def utc(moment: None) -> None: ...
def utc(moment: datetime | None) -> datetime | None:
    """Times as UTC; a naive time in an event is taken to be UTC already."""
    return None if moment is None else as_utc(moment)


def text(value: Any) -> str:
    """Ids and enum values as plain strings (UUIDs, StrEnums)."""
    return str(value)


def optional_text(value: Any) -> str | None:
    return None if value is None else str(value)
