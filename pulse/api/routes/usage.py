"""A project's usage: stored buckets, the period summary against the plan's limits, a
dense aggregated series, the alerts raised, and an on-demand limit check.

Every member of the project's organization may read them (``VIEW_USAGE``: all roles);
anyone else gets 404. Usage comes from the read models (seconds behind the events);
the plan is the organization's as of now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request

from pulse.api.auth import CurrentUser, command_context
from pulse.api.commands import run_command, run_query
from pulse.api.dependencies import ClientsDep, PulseDep
from pulse.api.management_schemas import Page
from pulse.api.openapi import problem_responses
from pulse.api.pagination import Cursor, Limit, page_of
from pulse.api.problems import Problem
from pulse.api.usage_schemas import (
    AggregatedUsageOut,
    LimitCheckOut,
    MeterStatusOut,
    RawUsageOut,
    UsageAlertOut,
    UsageSummaryOut,
)
from pulse.domain.limits import MeterStatus, evaluate
from pulse.domain.metering import period_bounds, period_of
from pulse.domain.plans import terms_of
from pulse.domain.pricing import shown_quantity
from pulse.queries import usage_views
from pulse.queries.usage_views import Bucket, usage_json
from pulse.services import usage_limits
from pulse.services.clock import as_utc, utc_now

router = APIRouter(prefix="/v1/usage/{project_id}", tags=["usage"])

_READ = problem_responses((401, Problem), (404, Problem), (422, Problem))
_CHECK = problem_responses((401, Problem), (404, Problem), (409, Problem), (422, Problem))

PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
From = Annotated[
    datetime | None,
    Query(
        alias="from",
        description="Start of the range (UTC if no offset); the bucket it falls in is "
        "included whole. Default: the start of the current period.",
    ),
]
To = Annotated[
    datetime | None,
    Query(
        alias="to",
        description="End of the range, exclusive; the bucket just before it is included "
        "whole. Default: the end of the current period.",
    ),
]
Period = Annotated[
    str | None,
    Query(pattern=PERIOD_PATTERN, description="A billing period, `YYYY-MM` (UTC)."),
]


def _range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    current_start, current_end = period_bounds(period_of(utc_now()))
    return (
        current_start if start is None else as_utc(start),
        current_end if end is None else as_utc(end),
    )


def _bucket(bucket: Bucket) -> dict[str, Any]:
    return {"start": bucket.start, "end": bucket.end, "usage": usage_json(bucket.raw)}


def _meter(status: MeterStatus) -> MeterStatusOut:
    return MeterStatusOut(
        meter=str(status.meter),
        used=str(shown_quantity(status.used)),
        limit=None if status.limit is None else str(status.limit),
        percent=None if status.percent is None else str(status.percent),
        status=status.status,
    )


@router.get(
    "",
    response_model=RawUsageOut,
    summary="The project's stored usage buckets (hourly, daily or monthly), as kept",
    description="Only buckets with usage are listed; `/aggregated` gives a dense series. Any role.",
    responses=_READ,
)
async def raw(
    project_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    granularity: Annotated[Literal["hour", "day", "month"], Query()] = "hour",
    start: From = None,
    end: To = None,
) -> dict[str, Any]:
    await run_query(usage_limits.authorize, app, project_id, user.user_id)
    first, last_end, buckets = await usage_views.raw_buckets(
        clients.database, str(project_id), granularity, *_range(start, end)
    )
    return {
        "project_id": str(project_id),
        "granularity": granularity,
        "start": first,
        "end": last_end,
        "items": [_bucket(bucket) for bucket in buckets],
    }


@router.get(
    "/summary",
    response_model=UsageSummaryOut,
    summary="A period's usage, and where each meter stands against the plan's limits",
    description="Any role. `period` defaults to the current one; limits are those of the "
    "organization's current plan.",
    responses=_READ,
)
async def summary(
    project_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    period: Period = None,
) -> dict[str, Any]:
    organization = await run_query(usage_limits.authorize, app, project_id, user.user_id)
    period = period or period_of(utc_now())
    start, end = period_bounds(period)
    raw_usage = await usage_views.period_raw_usage(clients.database, str(project_id), start)
    terms = terms_of(organization.plan)
    return {
        "project_id": str(project_id),
        "organization_id": str(organization.id),
        "period": period,
        "period_start": start,
        "period_end": end,
        "plan": str(organization.plan),
        "alert_percent": terms.alert_percent,
        "usage": usage_json(raw_usage),
        "meters": [_meter(status) for status in evaluate(terms, raw_usage)],
    }


@router.get(
    "/aggregated",
    response_model=AggregatedUsageOut,
    summary="A dense usage series by hour, day, week or month, with totals",
    description="Every period overlapping the range is listed whole, zeros included; "
    "weeks start on Monday (UTC). At most 10,000 points. Any role.",
    responses=_READ,
)
async def aggregated(
    project_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    granularity: Annotated[Literal["hour", "day", "week", "month"], Query()] = "day",
    start: From = None,
    end: To = None,
) -> dict[str, Any]:
    await run_query(usage_limits.authorize, app, project_id, user.user_id)
    first, last_end, series = await usage_views.aggregated(
        clients.database, str(project_id), granularity, *_range(start, end)
    )
    return {
        "project_id": str(project_id),
        "granularity": granularity,
        "start": first,
        "end": last_end,
        "series": [_bucket(bucket) for bucket in series],
        "totals": usage_json(usage_views.totals_of(series)),
    }


@router.get(
    "/alerts",
    response_model=Page[UsageAlertOut],
    summary="Usage alerts raised for the project, oldest first (any role)",
    responses=_READ,
)
async def alerts(
    project_id: UUID,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    period: Period = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[UsageAlertOut]:
    await run_query(usage_limits.authorize, app, project_id, user.user_id)
    found = await usage_views.list_alerts(
        clients.database, str(project_id), period=period, limit=limit, cursor=cursor
    )
    return page_of(found, UsageAlertOut)


@router.post(
    "/check-limits",
    response_model=LimitCheckOut,
    summary="Check the current period's usage against the plan now, raising due alerts",
    description="What the minutely check does, for one project, at once: each alert is "
    "still raised (and sent as `usage.alert_raised`) only once per meter, level and "
    "period. Any role: it changes nothing but what is due anyway.",
    responses=_CHECK,
)
async def check_limits(
    project_id: UUID, user: CurrentUser, app: PulseDep, request: Request
) -> dict[str, Any]:
    now = utc_now()
    check = await run_command(
        request,
        usage_limits.check_for_user,
        app,
        project_id,
        user.user_id,
        command_context(request, user),
        now,
    )
    return {
        "project_id": str(project_id),
        "period": check.period,
        "plan": str(check.plan),
        "meters": [_meter(status) for status in check.statuses],
        "raised": [usage_limits.alert_view(alert) for alert in check.raised],
    }
