"""The audit log's page writer against FerretDB: entries placed in their organization
through the scopes, one scope query per flush, and replays that change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from pymongo import MongoClient, monitoring
from pymongo.database import Database

from pulse.domain.access_attempt import AccessAttempt
from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.egress import Egress, EgressKind, EgressStatus, Observation
from pulse.domain.member import Member
from pulse.domain.organization import Organization
from pulse.domain.project import Project
from pulse.domain.roles import Role
from pulse.projections.audit_log import AuditLogWriter
from pulse.projections.collections import AUDIT_LOG, AUDIT_SCOPES
from tests.conftest import MONGO_URI
from tests.management.conftest import fresh_database

ALICE = CommandContext(ActorKind.USER, "user-1", ip="203.0.113.7")
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


class ScopeQueries(monitoring.CommandListener):
    """Counts ``find`` commands on ``rm_audit_scopes``."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find" and event.command.get("find") == AUDIT_SCOPES:
            self.count += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
def queries() -> ScopeQueries:
    return ScopeQueries()


@pytest.fixture
def database(queries: ScopeQueries) -> Iterator[Database[dict[str, Any]]]:
    name = fresh_database()
    client: MongoClient[dict[str, Any]] = MongoClient(MONGO_URI, event_listeners=[queries])
    try:
        yield client[name]
    finally:
        client.drop_database(name)
        client.close()


def story() -> tuple[list[Any], dict[str, str]]:
    """Events of one organization, in log order, and the project id by aggregate."""
    organization = Organization("Acme", "ops@example.com", "free", uuid4(), ALICE)
    member = Member(organization.id, uuid4(), "m@example.com", "viewer", ALICE)
    project = Project(organization.id, "app", "eu-west", None, None, context=ALICE)
    project.add_key("pk_1", "default", "digest", NOW, ALICE)
    egress = Egress(
        uuid4(),
        project.id,
        "room",
        EgressKind.ROOM_COMPOSITE,
        None,
        False,
        None,
        None,
        None,
        {"file": {"filepath": "x.mp4"}},
        None,
        "eu-west",
        ALICE,
    )
    first = [
        *organization.collect_events(),
        *member.collect_events(),
        *project.collect_events(),
        *egress.collect_events(),
    ]
    # Later events that do not name their organization.
    member.change_role(Role.ADMIN, ALICE)
    project.update({"name": "renamed"}, ALICE)
    egress.record_started("EG_1", Observation(EgressStatus.ACTIVE, 1), ALICE)
    organization.update({"plan": "pro"}, ALICE)
    denied = AccessAttempt(
        organization.id,
        project.id,
        "DELETE /v1/projects/{project_id}",
        "project",
        str(project.id),
        "no",
        ALICE,
    )
    later = [
        *member.collect_events(),
        *project.collect_events(),
        *egress.collect_events(),
        *organization.collect_events(),
        *denied.collect_events(),
    ]
    projects = {
        str(organization.id): "",
        str(member.id): "",
        str(project.id): str(project.id),
        str(egress.id): str(project.id),
        str(denied.id): str(project.id),
    }
    return [*first, *later], projects | {"organization": str(organization.id)}


def write(database: Database[dict[str, Any]], events: list[Any], page: int, start: int = 0) -> None:
    writer = AuditLogWriter(database)
    for offset in range(0, len(events), page):
        for n, event in enumerate(events[offset : offset + page]):
            writer.apply(start + offset + n + 1, event)
        writer.flush()


def entries(database: Database[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(database[AUDIT_LOG].find().sort("_id", 1))


def test_every_entry_is_placed_in_its_organization_and_project(
    database: Database[dict[str, Any]],
) -> None:
    events, projects = story()
    write(database, events, page=100)
    found = entries(database)
    assert len(found) == len(events)
    organization = projects["organization"]
    for entry in found:
        aggregate_id = entry["_id"].split(":")[0]
        assert entry["organization_id"] == organization, entry["action"]
        assert entry["project_id"] == (projects[aggregate_id] or None), entry["action"]
    actions = {entry["action"] for entry in found}
    assert {"member.role_changed", "project.updated", "egress.started"} <= actions


def test_replays_with_other_page_boundaries_change_nothing(
    database: Database[dict[str, Any]],
) -> None:
    events, _ = story()
    write(database, events, page=100)
    before = entries(database)
    scopes = list(database[AUDIT_SCOPES].find().sort("_id", 1))
    # A crash mid-flush, then a new runner (empty cache) replaying with other pages.
    write(database, events[:3], page=1)
    write(database, events, page=2)
    write(database, events, page=5)
    assert entries(database) == before
    assert list(database[AUDIT_SCOPES].find().sort("_id", 1)) == scopes


def test_a_later_run_places_events_through_the_stored_scopes_in_one_query_per_flush(
    database: Database[dict[str, Any]], queries: ScopeQueries
) -> None:
    events, projects = story()
    split = 5  # Up to the egress's request; the rest names no organization.
    write(database, events[:split], page=100)
    queries.count = 0
    writer = AuditLogWriter(database)
    for n, event in enumerate(events[split:]):
        writer.apply(split + n + 1, event)
    writer.flush()
    assert queries.count == 1
    for entry in entries(database):
        assert entry["organization_id"] == projects["organization"], entry["action"]
    # What the writer learnt is cached: a flush of known aggregates asks nothing.
    queries.count = 0
    for n, event in enumerate(events[split:]):
        writer.apply(100 + n, event)
    writer.flush()
    assert queries.count == 0


def test_an_event_of_an_unknown_aggregate_is_kept_without_an_organization(
    database: Database[dict[str, Any]],
) -> None:
    events, _ = story()
    orphan = events[-3]  # The egress's start, without the egress's request before it.
    write(database, [orphan], page=1)
    (entry,) = entries(database)
    assert entry["organization_id"] is None
    assert entry["action"] == "egress.started"
