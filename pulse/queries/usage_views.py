"""Reads of the usage and alert read models for the usage routes.

Figures stay in exact raw units (ms, bytes, requests) until they are shown: each
usage object carries the raw integers and the billing units, as decimal strings of
three places. Bucket starts are UTC; weeks start on Monday (ISO 8601).

The aggregated view is built with pandas from the stored buckets (hour buckets for
an hourly series, day buckets otherwise): grouped by the start of their hour, day,
week or month, summed, and reindexed on every period of the range, so periods
without usage are there with zeros.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import pandas as pd  # type: ignore[import-untyped]
from pymongo.asynchronous.database import AsyncDatabase

from pulse.domain.metering import RAW_FIELDS, Meter, day_of, hour_of, month_of
from pulse.domain.pricing import shown_quantity
from pulse.projections.collections import USAGE_ALERTS, USAGE_BUCKETS
from pulse.projections.usage import MONTH, bucket_id
from pulse.queries.pagination import Document, InvalidQueryError, Page, paginate
from pulse.queries.usage import usage_of
from pulse.services.clock import as_utc

Stored = Literal["hour", "day", "month"]
Granularity = Literal["hour", "day", "week", "month"]

MAX_POINTS = 10_000
"""At most this many buckets in one answer (a year of hours is 8,784)."""

RawUsage = Mapping[Meter, int]


def usage_json(raw: RawUsage) -> dict[str, int | str]:
    """Raw integers, then billing units (decimal strings, three places; requests as is)."""
    shown: dict[str, int | str] = {meter.raw_field: int(raw.get(meter, 0)) for meter in Meter}
    for meter in Meter:
        if meter is not Meter.API_REQUESTS:
            shown[str(meter)] = str(shown_quantity(meter.in_units(int(raw.get(meter, 0)))))
    return shown


# -- period arithmetic ---------------------------------------------------------------------


def floor_to(moment: datetime, granularity: Granularity) -> datetime:
    """The start of the hour, day, ISO week or month ``moment`` falls in (UTC)."""
    if granularity == "hour":
        return hour_of(moment)
    if granularity == "day":
        return day_of(moment)
    if granularity == "week":
        day = day_of(moment)
        return day - timedelta(days=day.weekday())
    return month_of(moment)


def next_start(start: datetime, granularity: Granularity) -> datetime:
    if granularity == "hour":
        return start + timedelta(hours=1)
    if granularity == "day":
        return start + timedelta(days=1)
    if granularity == "week":
        return start + timedelta(weeks=1)
    return (start + timedelta(days=32)).replace(day=1)


def covering(start: datetime, end: datetime, granularity: Granularity) -> tuple[datetime, datetime]:
    """``[first, last_end)``: the whole periods that overlap ``[start, end)``."""
    if end <= start:
        raise InvalidQueryError("'from' must be before 'to'")
    first = floor_to(start, granularity)
    last = floor_to(end - timedelta(microseconds=1), granularity)
    return first, next_start(last, granularity)


def _check_points(first: datetime, last_end: datetime, granularity: Granularity) -> None:
    hours = (last_end - first) / timedelta(hours=1)
    per = {"hour": 1, "day": 24, "week": 168, "month": 24 * 28}[granularity]
    if hours / per > MAX_POINTS:
        raise InvalidQueryError(
            f"The range holds more than {MAX_POINTS} {granularity}s; ask for a shorter "
            "range or a coarser granularity"
        )


# -- stored buckets ------------------------------------------------------------------------


async def stored_buckets(
    database: AsyncDatabase[Document],
    project_id: str,
    granularity: Stored,
    start: datetime,
    end: datetime,
) -> list[Document]:
    """The project's stored buckets of ``granularity`` whose start is in ``[start, end)``."""
    found = database[USAGE_BUCKETS].find(
        {
            "project_id": project_id,
            "granularity": granularity,
            "start": {"$gte": start, "$lt": end},
        }
    )
    documents = await found.to_list()
    return sorted(documents, key=lambda document: as_utc(document["start"]))


@dataclass(frozen=True)
class Bucket:
    start: datetime
    end: datetime
    raw: dict[Meter, int]


async def raw_buckets(
    database: AsyncDatabase[Document],
    project_id: str,
    granularity: Stored,
    start: datetime,
    end: datetime,
) -> tuple[datetime, datetime, list[Bucket]]:
    """Stored buckets of the whole periods overlapping ``[start, end)`` (sparse)."""
    first, last_end = covering(start, end, granularity)
    _check_points(first, last_end, granularity)
    documents = await stored_buckets(database, project_id, granularity, first, last_end)
    buckets = []
    for document in documents:
        bucket_start = as_utc(document["start"])
        buckets.append(
            Bucket(bucket_start, next_start(bucket_start, granularity), usage_of(document))
        )
    return first, last_end, buckets


async def period_raw_usage(
    database: AsyncDatabase[Document], project_id: str, start: datetime
) -> dict[Meter, int]:
    """The month bucket starting at ``start`` (zeros before any usage)."""
    document = await database[USAGE_BUCKETS].find_one({"_id": bucket_id(project_id, MONTH, start)})
    return usage_of(document)


# -- the dense, aggregated series ------------------------------------------------------------


def dense_series(
    documents: Sequence[Mapping[str, Any]],
    granularity: Granularity,
    first: datetime,
    last_end: datetime,
) -> list[Bucket]:
    """Every period of ``granularity`` in ``[first, last_end)`` with the summed usage of
    the ``documents`` (buckets with ``start`` and raw fields) that start in it; zeros
    where none do. ``first`` and ``last_end`` must be period boundaries."""
    starts: list[datetime] = []
    moment = first
    while moment < last_end:
        starts.append(moment)
        moment = next_start(moment, granularity)
    index = pd.DatetimeIndex(starts, name="start")
    if documents:
        frame = pd.DataFrame(
            [[int(document.get(field, 0) or 0) for field in RAW_FIELDS] for document in documents],
            columns=list(RAW_FIELDS),
            dtype="int64",
        )
        frame["start"] = pd.DatetimeIndex(
            [floor_to(as_utc(document["start"]), granularity) for document in documents]
        )
        summed = frame.groupby("start").sum()
    else:
        summed = pd.DataFrame(columns=list(RAW_FIELDS), dtype="int64")
    dense = summed.reindex(index, fill_value=0).astype("int64")
    return [
        Bucket(
            start,
            next_start(start, granularity),
            {meter: int(row[meter.raw_field]) for meter in Meter},
        )
        for start, (_, row) in zip(starts, dense.iterrows(), strict=True)
    ]


def totals_of(buckets: list[Bucket]) -> dict[Meter, int]:
    return {meter: sum(bucket.raw[meter] for bucket in buckets) for meter in Meter}


async def aggregated(
    database: AsyncDatabase[Document],
    project_id: str,
    granularity: Granularity,
    start: datetime,
    end: datetime,
) -> tuple[datetime, datetime, list[Bucket]]:
    """The dense series of whole periods overlapping ``[start, end)``."""
    first, last_end = covering(start, end, granularity)
    _check_points(first, last_end, granularity)
    # Day buckets add up to weeks and months exactly, and are 24 times fewer than hours.
    source: Stored = "hour" if granularity == "hour" else "day"
    documents = await stored_buckets(database, project_id, source, first, last_end)
    return first, last_end, dense_series(documents, granularity, first, last_end)


# -- alerts ----------------------------------------------------------------------------------


async def list_alerts(
    database: AsyncDatabase[Document],
    project_id: str,
    *,
    period: str | None,
    limit: int,
    cursor: str | None,
) -> Page:
    """The project's alerts, oldest first; ``period`` narrows to one billing period."""
    query: Document = {"project_id": project_id}
    if period is not None:
        query["period"] = period
    return await paginate(
        database[USAGE_ALERTS], query, limit=limit, cursor=cursor, sort_field="raised_at"
    )
