"""Which project a served request counts for, and the counter's names: no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pulse.api.auth import ProjectKeyPrincipal, UserPrincipal
from pulse.api.request_metering import metered_project
from pulse.domain.api_usage import ApiUsage
from pulse.domain.context import CommandContext
from pulse.services.api_usage import counter_field, parse_field

PROJECT = uuid.uuid4()
OTHER = uuid.uuid4()
USER = UserPrincipal(user_id=uuid.uuid4(), session_id=uuid.uuid4())
KEY = ProjectKeyPrincipal(project_id=PROJECT, organization_id=uuid.uuid4(), key_id="pk_x")
HOUR = datetime(2026, 3, 1, 14, tzinfo=UTC)


def scope(principal: object | None = None, **path_params: Any) -> dict[str, Any]:
    state = {} if principal is None else {"principal": principal}
    return {"type": "http", "state": state, "path_params": path_params}


def test_a_key_request_counts_for_the_keys_project_whatever_the_path() -> None:
    assert metered_project(scope(KEY), 200) == PROJECT
    assert metered_project(scope(KEY, project_id=str(OTHER)), 201) == PROJECT
    assert metered_project(scope(KEY), 404) == PROJECT  # Its own project asked.


def test_a_user_request_counts_for_the_project_in_its_path() -> None:
    assert metered_project(scope(USER, project_id=str(PROJECT)), 200) == PROJECT
    assert metered_project(scope(USER, project_id=str(PROJECT)), 422) == PROJECT
    assert metered_project(scope(USER), 200) is None  # No project in the path.
    assert metered_project(scope(USER, project_id="not-a-uuid"), 422) is None


def test_refused_unauthenticated_and_failed_requests_do_not_count() -> None:
    assert metered_project(scope(None, project_id=str(PROJECT)), 401) is None
    assert metered_project(scope(USER, project_id=str(PROJECT)), 404) is None
    assert metered_project(scope(USER, project_id=str(PROJECT)), 403) is None
    assert metered_project(scope(KEY), 500) is None
    assert metered_project(scope(KEY), None) is None  # No answer was started.
    assert metered_project({"type": "http"}, 200) is None


def test_a_counter_field_names_the_project_and_the_utc_hour() -> None:
    field = counter_field(PROJECT, datetime(2026, 3, 1, 14, 59, 59, 999_999, tzinfo=UTC))
    assert field == f"{PROJECT}:2026-03-01T14"
    assert parse_field(field) == (PROJECT, HOUR)


def test_usage_ids_collide_for_the_same_batch_only() -> None:
    same = ApiUsage.create_id(PROJECT, HOUR, "b1")
    assert same == ApiUsage.create_id(PROJECT, HOUR.replace(minute=30), "b1")
    assert same != ApiUsage.create_id(PROJECT, HOUR, "b2")
    assert same != ApiUsage.create_id(OTHER, HOUR, "b1")
    assert same != ApiUsage.create_id(PROJECT, HOUR.replace(hour=15), "b1")


def test_a_counted_event_carries_project_hour_count_and_batch() -> None:
    usage = ApiUsage(
        project_id=PROJECT, hour=HOUR, count=7, batch="b1", context=CommandContext.system("t")
    )
    assert usage.id == ApiUsage.create_id(PROJECT, HOUR, "b1")
    (counted,) = usage.collect_events()
    assert (counted.project_id, counted.hour, counted.count, counted.batch) == (  # type: ignore[attr-defined]
        PROJECT,
        HOUR,
        7,
        "b1",
    )
