"""The audit log as CSV: columns, one row per entry, cells safe to open in a spreadsheet.

A cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) would be
taken as a formula by spreadsheet software, and entries carry text that callers
chose (user agents, names, reasons), so such a cell is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from pulse.queries.pagination import Document
from pulse.services.clock import as_utc

COLUMNS = (
    "id",
    "at",
    "organization_id",
    "project_id",
    "actor_kind",
    "actor_id",
    "ip",
    "user_agent",
    "request_id",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "details",
)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

ROWS_PER_CHUNK = 200


def safe_cell(value: Any) -> str:
    """A value as CSV text that no spreadsheet evaluates."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return as_utc(value).isoformat().replace("+00:00", "Z")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _details(details: Any) -> str:
    return json.dumps(details or {}, sort_keys=True, default=str, separators=(",", ":"))


def row_of(entry: Document) -> list[str]:
    actor = entry.get("actor") or {}
    resource = entry.get("resource") or {}
    values = (
        entry["_id"],
        entry.get("at"),
        entry.get("organization_id"),
        entry.get("project_id"),
        actor.get("kind"),
        actor.get("id"),
        entry.get("ip"),
        entry.get("user_agent"),
        entry.get("request_id"),
        entry.get("action"),
        resource.get("type"),
        resource.get("id"),
        entry.get("outcome"),
        _details(entry.get("details")),
    )
    return [safe_cell(value) for value in values]


async def csv_chunks(entries: AsyncIterator[Document]) -> AsyncIterator[str]:
    """The header, then the rows, ``ROWS_PER_CHUNK`` at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    rows = 0
    async for entry in entries:
        writer.writerow(row_of(entry))
        rows += 1
        if rows % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
