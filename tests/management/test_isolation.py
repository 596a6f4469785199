"""Tenant isolation, from the outside: a member of organization A learns nothing of B.

Every organization-, project-, member- and key-route of B answers 404 to A's members
(whatever their role: not 403, which would confirm that B exists), and B's objects
never appear in A's lists or searches.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.management.world import World


def routes_of_b(world: World) -> list[tuple[str, str, dict[str, Any] | None]]:
    org = f"/v1/organizations/{world.organization_b}"
    project = f"/v1/projects/{world.project_b}"
    outsider = world.user_ids["outsider"]
    key = world.new_key(world.project_b, who="outsider")  # A key that exists, in B.
    invitation = world.new_invitation(world.organization_b, who="outsider")
    return [
        ("GET", org, None),
        ("PUT", org, {"name": "Taken over"}),
        ("DELETE", org, None),
        ("GET", f"{org}/members", None),
        ("POST", f"{org}/members", {"email": "spy@example.com", "role": "admin"}),
        ("GET", f"{org}/members/{outsider}", None),
        ("DELETE", f"{org}/members/{outsider}", None),
        ("PUT", f"{org}/members/{outsider}/role", {"role": "viewer"}),
        ("GET", f"{org}/invitations", None),
        ("GET", f"{org}/invitations/{invitation}", None),
        ("DELETE", f"{org}/invitations/{invitation}", None),
        ("GET", f"/v1/projects?organization_id={world.organization_b}", None),
        ("POST", "/v1/projects", {"organization_id": str(world.organization_b), "name": "x"}),
        ("GET", project, None),
        ("PUT", project, {"name": "renamed"}),
        ("DELETE", project, None),
        ("POST", f"{project}/regenerate-keys", None),
        ("GET", f"{project}/keys", None),
        ("POST", f"{project}/keys", {"name": "stolen"}),
        ("GET", f"{project}/keys/{key}", None),
        ("DELETE", f"{project}/keys/{key}", None),
        ("POST", f"{project}/keys/{key}/rotate", {"grace_seconds": 0}),
    ]


@pytest.mark.parametrize("role", ["owner", "admin", "developer", "viewer"])
def test_every_route_of_another_organization_is_not_found(world: World, role: str) -> None:
    for method, path, body in routes_of_b(world):
        response = world.client.request(method, path, json=body, headers=world.headers(role))
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert str(world.organization_b) not in response.json()["detail"]

    # And nothing of B changed.
    as_outsider = world.headers("outsider")
    assert (
        world.client.get(f"/v1/organizations/{world.organization_b}", headers=as_outsider).json()[
            "name"
        ]
        == "Bravo Corp"
    )
    assert (
        world.client.get(f"/v1/projects/{world.project_b}", headers=as_outsider).json()["name"]
        == "bravo-app"
    )


def test_ids_that_exist_nowhere_are_not_found_either(world: World) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for path in (f"/v1/organizations/{missing}", f"/v1/projects/{missing}"):
        response = world.client.get(path, headers=world.headers("owner"))
        assert response.status_code == 404
        # The same answer as for another tenant's id: existence is not revealed.
        assert response.json()["detail"] == ("The resource does not exist, or you may not see it.")


def test_lists_and_searches_never_show_another_organizations_objects(world: World) -> None:
    world.settle()
    as_owner = world.headers("owner")
    listings = {
        "/v1/organizations": "Bravo",
        "/v1/organizations?q=bravo": "Bravo",
        "/v1/projects": "bravo-app",
        "/v1/projects?q=bravo": "bravo-app",
        f"/v1/organizations/{world.organization_a}/members?q=outsider": "outsider",
    }
    for path, foreign in listings.items():
        response = world.client.get(path, headers=as_owner)
        assert response.status_code == 200, response.text
        body = response.json()
        assert foreign not in response.text, path
        assert all(
            item.get("organization_id", item.get("id")) != str(world.organization_b)
            for item in body["items"]
        )

    # The owner does see their own organization's objects in the same searches.
    mine = world.client.get("/v1/projects?q=alpha", headers=as_owner).json()
    assert [item["name"] for item in mine["items"]] == ["alpha-app"]
    assert mine["total"] == 1
    orgs = world.client.get("/v1/organizations?q=acme", headers=as_owner).json()
    assert [item["name"] for item in orgs["items"]] == ["Acme Alpha"]

    # The outsider, symmetrically, sees only B.
    theirs = world.client.get("/v1/projects", headers=world.headers("outsider")).json()
    assert {item["organization_id"] for item in theirs["items"]} == {str(world.organization_b)}
