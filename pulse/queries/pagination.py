"""The pagination contract of every list: limit, opaque cursor, total.

Items are sorted by ``(<sort field>, _id)`` ascending; the cursor is the base64url
of the last item's sort key, so the next page starts strictly after it even when
documents are added meanwhile. ``total`` counts every matching document, ignoring
the cursor.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from pulse.domain.errors import InvalidValueError

Document = dict[str, Any]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class InvalidQueryError(InvalidValueError, ValueError):
    """A limit out of range, a cursor that is not ours, an unknown filter value.

    An ``InvalidValueError``, so the API answers 422 like any other bad value.
    """


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Document]
    total: int
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; None on the last page."""


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQueryError(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def encode_cursor(moment: datetime, doc_id: str) -> str:
    raw = json.dumps([moment.isoformat(), doc_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, doc_id = json.loads(raw)
        parsed = datetime.fromisoformat(moment)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidQueryError("cursor is not a cursor this list returned") from None
    if not isinstance(doc_id, str):
        raise InvalidQueryError("cursor is not a cursor this list returned")
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), doc_id


def _after(sort_field: str, cursor: str) -> Document:
    moment, doc_id = decode_cursor(cursor)
    return {"$or": [{sort_field: {"$gt": moment}}, {sort_field: moment, "_id": {"$gt": doc_id}}]}


async def paginate(
    collection: AsyncCollection[Document],
    query: Document,
    *,
    limit: int,
    cursor: str | None,
    sort_field: str = "created_at",
    projection: Document | None = None,
) -> Page:
    check_limit(limit)
    page_query = query if cursor is None else {"$and": [query, _after(sort_field, cursor)]}
    found = (
        collection.find(page_query, projection)
        .sort([(sort_field, 1), ("_id", 1)])
        .limit(limit + 1)  # One more than asked tells whether there is a next page.
    )
    documents, total = await asyncio.gather(found.to_list(), collection.count_documents(query))
    next_cursor = None
    if len(documents) > limit:
        documents = documents[:limit]
        last = documents[-1]
        next_cursor = encode_cursor(last[sort_field], str(last["_id"]))
    return Page(items=documents, total=total, next_cursor=next_cursor)


def empty_page() -> Page:
    return Page(items=[], total=0, next_cursor=None)
