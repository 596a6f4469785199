"""Reading ``rm_usage_buckets``: a project's stored usage buckets, and a period's totals."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pymongo import ASCENDING
from pymongo.database import Database

from pulse.domain.metering import Meter, period_bounds
from pulse.projections.collections import USAGE_BUCKETS
from pulse.projections.model import Document
from pulse.projections.usage import GRANULARITIES, MONTH, bucket_id


def buckets(
    database: Database[Document],
    project_id: UUID | str,
    granularity: str,
    start: datetime,
    end: datetime,
) -> list[Document]:
    """The project's stored ``granularity`` buckets starting in ``[start, end)``, by start.

    Only buckets with usage exist: a caller wanting a dense series fills the gaps.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}")
    query = {
        "project_id": str(project_id),
        "granularity": granularity,
        "start": {"$gte": start, "$lt": end},
    }
    return list(database[USAGE_BUCKETS].find(query).sort("start", ASCENDING))


def period_usage(
    database: Database[Document], project_id: UUID | str, period: str
) -> dict[Meter, int]:
    """The project's usage in the ``YYYY-MM`` period, in raw units (zeros if none)."""
    start, _ = period_bounds(period)
    document = database[USAGE_BUCKETS].find_one({"_id": bucket_id(project_id, MONTH, start)})
    return usage_of(document)


def usage_of(document: Document | None) -> dict[Meter, int]:
    """A bucket's raw figures by meter (zeros for a missing bucket or field)."""
    found = document or {}
    return {meter: int(found.get(meter.raw_field, 0)) for meter in Meter}
