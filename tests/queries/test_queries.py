"""The API's queries over read models projected from real events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from pulse.clients import Clients
from pulse.config import Settings
from pulse.domain.organization import Organization
from pulse.domain.project import Project
from pulse.projections.model import Document
from pulse.projections.options import ProjectionSettings
from pulse.projections.runner import catch_up_all
from pulse.queries import (
    InvalidQueryError,
    Page,
    find_api_key_by_digest,
    get_user,
    list_api_keys,
    list_invitations,
    list_members,
    list_organizations,
    list_projects,
    organization_ids_of_user,
)
from pulse.queries.search import literal_pattern
from pulse.services.application import PulseApplication
from tests.projections.scenario import (
    CTX,
    NOW,
    World,
    build_world,
    create_project,
    found_organization,
    sid,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def world(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings,
) -> World:
    world = build_world(pulse_app)
    catch_up_all(pulse_app, database, settings, options)
    return world


@pytest.fixture
def db(clients: Clients) -> AsyncDatabase[Document]:
    return clients.database


def ids(page: Page) -> list[str]:
    return [str(item["_id"]) for item in page.items]


async def all_pages(fetch, limit: int) -> tuple[list[str], list[int]]:  # type: ignore[no-untyped-def]
    """Follow ``next_cursor`` to the end; the ids seen and each page's total."""
    seen: list[str] = []
    totals: list[int] = []
    cursor = None
    while True:
        page = await fetch(limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        seen += ids(page)
        totals.append(page.total)
        cursor = page.next_cursor
        if cursor is None:
            return seen, totals


# --- organizations -----------------------------------------------------------------


async def test_a_users_organizations_are_those_of_active_memberships(
    world: World, db: AsyncDatabase[Document]
) -> None:
    assert await organization_ids_of_user(db, sid(world.alice.id)) == [sid(world.acme.id)]
    assert await organization_ids_of_user(db, sid(world.bob.id)) == [sid(world.acme.id)]
    assert await organization_ids_of_user(db, sid(world.carol.id)) == [sid(world.globex.id)]
    assert await organization_ids_of_user(db, "nobody") == []


async def test_removed_members_lose_the_organization(
    pulse_app: PulseApplication,
    world: World,
    db: AsyncDatabase[Document],
    database: Database[Document],
    settings: Settings,
) -> None:
    world.bob_in_acme.remove(CTX)
    pulse_app.save(world.bob_in_acme)
    catch_up_all(pulse_app, database, settings)

    assert await organization_ids_of_user(db, sid(world.bob.id)) == []


@pytest.fixture
def many(
    pulse_app: PulseApplication,
    world: World,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings,
) -> list[Organization]:
    """Alice owns 24 more organizations (25 in all); Carol has look-alikes."""
    organizations = [
        found_organization(pulse_app, world.alice, f"Team {n:02d}", "pro" if n % 3 else "free")[0]
        for n in range(24)
    ]
    found_organization(pulse_app, world.carol, "Team 99")
    found_organization(pulse_app, world.carol, "Team 07 (copy)")
    catch_up_all(pulse_app, database, settings, options)
    return organizations


async def test_organizations_page_by_cursor_with_a_total(
    many: list[Organization], world: World, db: AsyncDatabase[Document]
) -> None:
    mine = await organization_ids_of_user(db, sid(world.alice.id))
    assert len(mine) == 25

    async def fetch(**page: object) -> Page:
        return await list_organizations(db, mine, **page)  # type: ignore[arg-type]

    seen, totals = await all_pages(fetch, limit=10)

    assert totals == [25, 25, 25]
    assert seen == [sid(world.acme.id)] + [sid(o.id) for o in many]  # Oldest first.
    first = await list_organizations(db, mine)
    assert len(first.items) == 20  # The default limit.
    assert first.items[0]["name"] == "ACME (Europe) Ltd."


async def test_organizations_search_by_name_and_filter_by_plan(
    many: list[Organization], world: World, db: AsyncDatabase[Document]
) -> None:
    mine = await organization_ids_of_user(db, sid(world.alice.id))

    team_07 = await list_organizations(db, mine, q="team 07")
    assert [item["name"] for item in team_07.items] == ["Team 07"]  # Not Carol's copy.
    assert team_07.total == 1
    assert (await list_organizations(db, mine, q="(EUROPE)")).total == 1
    assert (await list_organizations(db, mine, q="Team 1")).total == 10
    assert (await list_organizations(db, mine, q=".*")).total == 0
    assert (await list_organizations(db, mine, q="a\x00b\n")).total == 0
    free = await list_organizations(db, mine, plan="free")
    assert free.total == 8
    assert {item["plan"] for item in free.items} == {"free"}
    both = await list_organizations(db, mine, q="team", plan="pro", limit=5)
    assert both.total == 16
    assert both.next_cursor is not None


async def test_organizations_outside_the_given_ids_never_appear(
    many: list[Organization], world: World, db: AsyncDatabase[Document]
) -> None:
    mine = await organization_ids_of_user(db, sid(world.alice.id))
    carols = await organization_ids_of_user(db, sid(world.carol.id))
    assert len(carols) == 3
    carol_page = await list_organizations(db, carols, limit=1)

    # Carol's cursor only positions the list; the scope is still Alice's.
    page = await list_organizations(db, mine, q="team", cursor=carol_page.next_cursor, limit=100)

    assert set(ids(page)) <= set(mine)
    assert not set(ids(page)) & set(carols)
    assert (await list_organizations(db, [])).items == []


async def test_deleted_organizations_are_not_listed(
    pulse_app: PulseApplication,
    world: World,
    db: AsyncDatabase[Document],
    database: Database[Document],
    settings: Settings,
) -> None:
    world.acme.delete(NOW, CTX)
    pulse_app.save(world.acme)
    catch_up_all(pulse_app, database, settings)

    page = await list_organizations(db, [sid(world.acme.id), sid(world.globex.id)])

    assert ids(page) == [sid(world.globex.id)]
    assert page.total == 1


# --- projects ----------------------------------------------------------------------


async def test_projects_are_scoped_filtered_and_searched(
    world: World, db: AsyncDatabase[Document]
) -> None:
    both = [sid(world.acme.id), sid(world.globex.id)]

    everything = await list_projects(db, both)
    assert ids(everything) == [sid(world.video.id), sid(world.audio.id)]  # Not the deleted one.
    with_deleted = await list_projects(db, both, include_deleted=True)
    assert with_deleted.total == 3
    assert ids(await list_projects(db, both, region="us-east")) == [sid(world.audio.id)]
    assert ids(await list_projects(db, both, q="CALLS")) == [sid(world.video.id)]
    assert ids(await list_projects(db, both, q="D T", include_deleted=True)) == [sid(world.old.id)]
    only_globex = await list_projects(
        db, both, organization_id=sid(world.globex.id), include_deleted=True
    )
    assert ids(only_globex) == [sid(world.old.id)]


async def test_projects_of_other_organizations_never_appear(
    world: World, db: AsyncDatabase[Document]
) -> None:
    acme_only = [sid(world.acme.id)]

    outside = await list_projects(
        db, acme_only, organization_id=sid(world.globex.id), include_deleted=True
    )
    assert outside == Page(items=[], total=0, next_cursor=None)
    scoped = await list_projects(db, acme_only, q="o", include_deleted=True)
    assert {item["organization_id"] for item in scoped.items} == {sid(world.acme.id)}
    assert (await list_projects(db, [])).total == 0


async def test_projects_paginate(
    pulse_app: PulseApplication,
    world: World,
    db: AsyncDatabase[Document],
    database: Database[Document],
    settings: Settings,
) -> None:
    extra: list[Project] = [create_project(pulse_app, world.acme, f"p{n}") for n in range(5)]
    catch_up_all(pulse_app, database, settings)

    async def fetch(**page: object) -> Page:
        return await list_projects(db, [sid(world.acme.id)], **page)  # type: ignore[arg-type]

    seen, totals = await all_pages(fetch, limit=3)

    assert totals == [7, 7, 7]
    assert seen == [sid(world.video.id), sid(world.audio.id)] + [sid(p.id) for p in extra]


# --- members and invitations -------------------------------------------------------


async def test_members_lists_active_members_with_role_and_email_filters(
    pulse_app: PulseApplication,
    world: World,
    db: AsyncDatabase[Document],
    database: Database[Document],
    settings: Settings,
) -> None:
    acme = sid(world.acme.id)

    page = await list_members(db, acme)
    assert [item["email"] for item in page.items] == ["alice@example.test", "bob@example.test"]
    assert page.total == 2
    assert ids(await list_members(db, acme, role="viewer")) == [sid(world.bob_in_acme.id)]
    assert ids(await list_members(db, acme, q="ALICE@")) == [sid(world.alice_in_acme.id)]
    assert (await list_members(db, acme, q="carol")).total == 0  # Carol is in Globex.

    first = await list_members(db, acme, limit=1)
    second = await list_members(db, acme, limit=1, cursor=first.next_cursor)
    assert ids(first) + ids(second) == [sid(world.alice_in_acme.id), sid(world.bob_in_acme.id)]
    assert second.next_cursor is None

    world.bob_in_acme.remove(CTX)
    pulse_app.save(world.bob_in_acme)
    catch_up_all(pulse_app, database, settings)
    assert ids(await list_members(db, acme)) == [sid(world.alice_in_acme.id)]


async def test_invitations_are_listed_per_organization_by_status(
    world: World, db: AsyncDatabase[Document]
) -> None:
    acme = sid(world.acme.id)

    page = await list_invitations(db, acme)
    assert set(ids(page)) == {sid(world.accepted.id), sid(world.revoked.id)}
    assert page.total == 2
    accepted = await list_invitations(db, acme, status="accepted")
    assert ids(accepted) == [sid(world.accepted.id)]
    assert (await list_invitations(db, acme, status="pending")).total == 0
    assert ids(await list_invitations(db, sid(world.globex.id))) == [sid(world.pending.id)]
    with pytest.raises(InvalidQueryError, match="status"):
        await list_invitations(db, acme, status="lost")


# --- keys and users ----------------------------------------------------------------


async def test_api_keys_are_listed_newest_first_without_digests(
    world: World, db: AsyncDatabase[Document]
) -> None:
    keys = await list_api_keys(db, sid(world.video.id))

    assert [key["_id"] for key in keys] == ["pk_e", "pk_d", "pk_c", "pk_b", "pk_a"]
    assert all("digest" not in key for key in keys)
    assert await list_api_keys(db, sid(world.video.id), organization_id=sid(world.globex.id)) == []
    assert (
        len(await list_api_keys(db, sid(world.video.id), organization_id=sid(world.acme.id))) == 5
    )
    assert await list_api_keys(db, sid(world.audio.id)) == []


async def test_an_api_key_is_found_by_the_digest_of_its_secret(
    world: World, db: AsyncDatabase[Document]
) -> None:
    key = await find_api_key_by_digest(db, "digest-pk_a")

    assert key is not None
    assert key["_id"] == "pk_a"
    assert key["project_id"] == sid(world.video.id)
    assert key["expires_at"] == NOW + timedelta(days=2)
    assert await find_api_key_by_digest(db, "digest-unknown") is None


async def test_get_user(world: World, db: AsyncDatabase[Document]) -> None:
    user = await get_user(db, sid(world.bob.id))

    assert user is not None
    assert (user["email"], user["name"]) == ("bob@example.test", "Bob")
    assert await get_user(db, "nobody") is None


# --- the contract ------------------------------------------------------------------


@pytest.mark.parametrize("limit", [0, -1, 101])
async def test_a_limit_out_of_range_is_refused(
    limit: int, world: World, db: AsyncDatabase[Document]
) -> None:
    with pytest.raises(InvalidQueryError, match="limit"):
        await list_members(db, sid(world.acme.id), limit=limit)


@pytest.mark.parametrize("cursor", ["garbage!", "bm90IGpzb24", "WyJ4IiwgMV0", ""])
async def test_a_cursor_that_is_not_ours_is_refused(
    cursor: str, world: World, db: AsyncDatabase[Document]
) -> None:
    with pytest.raises(InvalidQueryError, match="cursor"):
        await list_organizations(db, [sid(world.acme.id)], cursor=cursor)


def test_search_text_is_matched_literally() -> None:
    assert literal_pattern("Team 07") == "Team\\ 07"
    assert literal_pattern("a.b*c(d)[e]$^|?+{}\\") == (
        "a\\.b\\*c\\(d\\)\\[e\\]\\$\\^\\|\\?\\+\\{\\}\\\\"
    )
    assert literal_pattern("é_ü\x00") == "é_ü\\x00"
