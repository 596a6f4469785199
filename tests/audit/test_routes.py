"""The audit-log routes: isolation (404 for another organization), CSV export, stats,
recent entries, and retention (hidden at once, pruned daily, never from the events)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest

from pulse.api.audit_csv import COLUMNS, safe_cell
from pulse.projections import audit_log
from pulse.projections.collections import AUDIT_LOG
from pulse.projections.runner import rebuild
from pulse.projections.store import read_model_database
from pulse.queries.audit_log import AuditFilters, list_entries, retention_cutoff
from pulse.services.clock import utc_now
from pulse.workers.audit_jobs import prune_entries
from tests.audit.support import log_of, settle, stored_entries, with_async_database
from tests.management.world import World

ROUTES = ("", "/export", "/stats", "/recent")


@pytest.mark.parametrize("route", ROUTES)
def test_a_member_of_another_organization_gets_404(world: World, route: str) -> None:
    for who, organization in (
        ("viewer", world.organization_b),
        ("outsider", world.organization_a),
    ):
        response = world.client.get(
            f"/v1/audit-logs{route}",
            params={"organization_id": str(organization)},
            headers=world.headers(who),
        )
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
    # Every role reads its own organization's log.
    for who in ("owner", "admin", "developer", "viewer"):
        response = world.client.get(
            f"/v1/audit-logs{route}",
            params={"organization_id": str(world.organization_a)},
            headers=world.headers(who),
        )
        assert response.status_code == 200, (who, response.text)


def test_the_log_needs_a_signed_in_user_and_an_organization(world: World) -> None:
    for route in ROUTES:
        anonymous = world.client.get(
            f"/v1/audit-logs{route}", params={"organization_id": str(world.organization_a)}
        )
        assert anonymous.status_code == 401
        missing = world.client.get(f"/v1/audit-logs{route}", headers=world.headers("owner"))
        assert missing.status_code == 422


def _export(world: World, **params: str) -> tuple[Any, list[list[str]]]:
    response = world.client.get(
        "/v1/audit-logs/export",
        params={"organization_id": str(world.organization_a), **params},
        headers=world.headers("viewer"),
    )
    assert response.status_code == 200, response.text
    return response, list(csv.reader(io.StringIO(response.text)))


def test_the_export_is_csv_with_every_filtered_entry_and_no_formula(world: World) -> None:
    # A User-Agent is the caller's text: make it a formula.
    formula = '=HYPERLINK("http://evil.example","x")'
    renamed = world.client.put(
        f"/v1/projects/{world.project_a}",
        json={"name": "alpha-app"},
        headers={**world.headers("owner"), "User-Agent": formula},
    )
    assert renamed.status_code == 200
    settle(world)

    response, rows = _export(world)
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="audit-log-')
    assert disposition.endswith('.csv"')
    assert str(world.organization_a) in disposition
    assert tuple(rows[0]) == COLUMNS
    listed = log_of(world, world.organization_a)
    assert [row[0] for row in rows[1:]] == [entry["id"] for entry in listed]
    column = {name: n for n, name in enumerate(COLUMNS)}
    updated = [row for row in rows[1:] if row[column["action"]] == "project.updated"]
    assert updated[-1][column["user_agent"]] == "'" + formula
    assert updated[-1][column["actor_id"]] == str(world.user_ids["owner"])
    assert updated[-1][column["resource_id"]] == str(world.project_a)
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell

    _, only = _export(world, action="project.updated")
    assert {row[column["action"]] for row in only[1:]} == {"project.updated"}
    assert len(only) - 1 == len(log_of(world, world.organization_a, action="project.updated"))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("plain", "plain"),
        (None, ""),
    ],
)
def test_cells_that_a_spreadsheet_would_evaluate_are_quoted(value: str | None, cell: str) -> None:
    assert safe_cell(value) == cell


def test_stats_count_the_filtered_entries(world: World) -> None:
    refused = world.client.delete(
        f"/v1/organizations/{world.organization_a}", headers=world.headers("viewer")
    )
    assert refused.status_code == 403
    settle(world)
    entries = log_of(world, world.organization_a)
    response = world.client.get(
        "/v1/audit-logs/stats",
        params={"organization_id": str(world.organization_a)},
        headers=world.headers("viewer"),
    )
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["total"] == len(entries)
    expected_actions: dict[str, int] = {}
    for entry in entries:
        expected_actions[entry["action"]] = expected_actions.get(entry["action"], 0) + 1
    assert stats["by_action"] == expected_actions
    assert stats["by_outcome"]["denied"] == sum(e["outcome"] == "denied" for e in entries) >= 1
    assert sum(stats["by_outcome"].values()) == len(entries)
    assert stats["by_actor_kind"]["user"] == sum(e["actor"]["kind"] == "user" for e in entries)
    assert sum(stats["by_actor_kind"].values()) == len(entries)

    denied = world.client.get(
        "/v1/audit-logs/stats",
        params={"organization_id": str(world.organization_a), "outcome": "denied"},
        headers=world.headers("viewer"),
    ).json()
    assert denied["total"] == stats["by_outcome"]["denied"]
    assert set(denied["by_action"]) == {"access_attempt.denied"}


def test_recent_is_the_latest_entries_newest_first(world: World) -> None:
    for name in ("recent-1", "recent-2", "recent-3"):
        world.create_project("owner", world.organization_a, name)
    settle(world)
    response = world.client.get(
        "/v1/audit-logs/recent",
        params={"organization_id": str(world.organization_a), "limit": "4"},
        headers=world.headers("developer"),
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 4
    assert [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)
    everything = log_of(world, world.organization_a)
    assert [i["id"] for i in items] == [e["id"] for e in reversed(everything)][:4]
    assert items[0]["action"] == "project.key_created"  # recent-3's first key.
    default = world.client.get(
        "/v1/audit-logs/recent",
        params={"organization_id": str(world.organization_a)},
        headers=world.headers("developer"),
    ).json()["items"]
    assert len(default) == min(20, len(everything))


def test_entries_past_retention_are_hidden_then_pruned_and_a_rebuild_shows_the_same_log(
    world: World,
) -> None:
    settle(world)
    entries = log_of(world, world.organization_a)
    assert len(entries) >= 4
    # Pretend a year went by for the oldest entries (the events keep their own times).
    aged = [entry["id"] for entry in entries[:2]]
    retention = world.settings.audit_retention_days

    async def age(database: Any) -> None:
        await database[AUDIT_LOG].update_many(
            {"_id": {"$in": aged}},
            {"$set": {"at": utc_now() - timedelta(days=retention, hours=1)}},
        )

    with_async_database(world, age)
    visible = log_of(world, world.organization_a)
    assert [e["id"] for e in visible] == [e["id"] for e in entries[2:]]
    for route in ("/stats", "/recent", "/export"):
        body = world.client.get(
            f"/v1/audit-logs{route}",
            params={"organization_id": str(world.organization_a), "limit": "100"},
            headers=world.headers("owner"),
        ).text
        for entry_id in aged:
            assert entry_id not in body
    stats = world.client.get(
        "/v1/audit-logs/stats",
        params={"organization_id": str(world.organization_a)},
        headers=world.headers("owner"),
    ).json()
    assert stats["total"] == len(visible)

    deleted = with_async_database(
        world, lambda database: prune_entries(database, utc_now(), retention)
    )
    assert deleted == 2
    stored = {entry["_id"] for entry in stored_entries(world)}
    assert not stored & set(aged)
    assert log_of(world, world.organization_a) == visible


def test_a_rebuild_then_a_prune_gives_the_same_visible_log(world: World) -> None:
    """With a cutoff that falls between entries: what is visible before the rebuild,
    after it (old entries back in the read model, still hidden) and after the prune."""
    settle(world)
    entries = log_of(world, world.organization_a)
    cutoff = datetime.fromisoformat(entries[len(entries) // 2]["at"])
    now = cutoff + timedelta(days=world.settings.audit_retention_days)
    assert retention_cutoff(now, world.settings.audit_retention_days) == cutoff

    def visible() -> list[str]:
        async def read(database: Any) -> list[str]:
            page = await list_entries(
                database, str(world.organization_a), AuditFilters(), cutoff, limit=100
            )
            return [str(document["_id"]) for document in page.items]

        return with_async_database(world, read)

    before = visible()
    assert 0 < len(before) < len(entries)
    rebuild(audit_log.PROJECTION, world.app, read_model_database(world.app), world.settings)
    assert len(stored_entries(world)) > len(before)
    assert visible() == before
    with_async_database(
        world,
        lambda database: prune_entries(database, now, world.settings.audit_retention_days),
    )
    assert visible() == before
    assert all(entry["at"] >= cutoff.replace(tzinfo=None) for entry in stored_entries(world))
