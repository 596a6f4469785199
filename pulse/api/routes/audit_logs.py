"""An organization's audit log: filtered list, CSV export, stats, recent entries.

Any active member may read their organization's log (``VIEW_AUDIT_LOG``: every
role); anyone else gets 404, as for every resource of another organization. The log
is a projection of the event stream (eventually consistent), limited to the
retention period (``PULSE_AUDIT_RETENTION_DAYS``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from pulse.api.audit_csv import csv_chunks
from pulse.api.audit_schemas import AuditEntryOut, AuditRecentOut, AuditStatsOut, Outcome
from pulse.api.auth import CurrentUser
from pulse.api.commands import run_query
from pulse.api.dependencies import ClientsDep, PulseDep, SettingsDep
from pulse.api.management_schemas import Page
from pulse.api.openapi import problem_responses
from pulse.api.pagination import Cursor, Limit, from_document, page_of
from pulse.api.problems import Problem
from pulse.config import Settings
from pulse.domain.roles import Permission
from pulse.queries.audit_log import (
    AuditFilters,
    audit_query,
    entry_stats,
    list_entries,
    recent_entries,
    retention_cutoff,
    stream_entries,
)
from pulse.services.authorization import require
from pulse.services.clock import utc_now

router = APIRouter(prefix="/v1/audit-logs", tags=["audit log"])

_READ = problem_responses((401, Problem), (404, Problem), (422, Problem))

OrganizationId = Annotated[
    UUID, Query(description="The organization whose log to read (you must be a member).")
]


def audit_filters(
    since: Annotated[
        datetime | None, Query(alias="from", description="Entries at or after this time.")
    ] = None,
    until: Annotated[
        datetime | None, Query(alias="to", description="Entries before this time.")
    ] = None,
    actor_id: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[
        str | None, Query(max_length=200, description="e.g. `project.key_rotated`.")
    ] = None,
    resource_type: Annotated[str | None, Query(max_length=100)] = None,
    resource_id: Annotated[str | None, Query(max_length=200)] = None,
    outcome: Outcome | None = None,
) -> AuditFilters:
    return AuditFilters(
        since=since,
        until=until,
        actor_id=actor_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        outcome=outcome,
    )


Filters = Annotated[AuditFilters, Depends(audit_filters)]


async def _authorize(app: PulseDep, organization_id: UUID, user: CurrentUser) -> None:
    """Members only; anyone else learns nothing (404)."""
    await run_query(require, app, organization_id, user.user_id, Permission.VIEW_AUDIT_LOG)


def _cutoff(settings: Settings) -> datetime:
    return retention_cutoff(utc_now(), settings.audit_retention_days)


@router.get(
    "",
    response_model=Page[AuditEntryOut],
    summary="The organization's audit log, oldest first, filtered and paged",
    responses=_READ,
)
async def list_(
    organization_id: OrganizationId,
    filters: Filters,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    settings: SettingsDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[AuditEntryOut]:
    await _authorize(app, organization_id, user)
    found = await list_entries(
        clients.database,
        str(organization_id),
        filters,
        _cutoff(settings),
        limit=limit,
        cursor=cursor,
    )
    return page_of(found, AuditEntryOut)


@router.get(
    "/export",
    response_class=StreamingResponse,
    summary="The filtered audit log as CSV, streamed, oldest first",
    responses={
        200: {"content": {"text/csv": {}}, "description": "One row per entry, with a header."},
        **_READ,
    },
)
async def export(
    organization_id: OrganizationId,
    filters: Filters,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    settings: SettingsDep,
) -> StreamingResponse:
    await _authorize(app, organization_id, user)
    # Built (and checked: a bad filter is a 422) before the first byte is sent.
    query = audit_query(str(organization_id), filters, _cutoff(settings))
    filename = f"audit-log-{organization_id}-{utc_now():%Y%m%dT%H%M%SZ}.csv"
    return StreamingResponse(
        csv_chunks(stream_entries(clients.database, query)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/stats",
    response_model=AuditStatsOut,
    summary="Counts of the filtered entries by action, outcome and actor kind",
    responses=_READ,
)
async def stats(
    organization_id: OrganizationId,
    filters: Filters,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    await _authorize(app, organization_id, user)
    found = await entry_stats(clients.database, str(organization_id), filters, _cutoff(settings))
    return {"organization_id": str(organization_id), **found}


@router.get(
    "/recent",
    response_model=AuditRecentOut,
    summary="The latest entries, newest first",
    responses=_READ,
)
async def recent(
    organization_id: OrganizationId,
    user: CurrentUser,
    app: PulseDep,
    clients: ClientsDep,
    settings: SettingsDep,
    limit: Limit = 20,
) -> dict[str, Any]:
    await _authorize(app, organization_id, user)
    found = await recent_entries(clients.database, str(organization_id), _cutoff(settings), limit)
    return {"items": [from_document(entry) for entry in found]}
