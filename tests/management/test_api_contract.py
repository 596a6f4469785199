"""What every management route promises beyond its role: documented errors and
conventions, paginated lists, and events that say who did what from where."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import MongoClient

from pulse.domain.invitation import Invitation
from pulse.services.clock import utc_now
from tests.management.world import PASSWORD, World


def test_the_openapi_document_covers_every_route_error_and_convention(world: World) -> None:
    document = world.client.get("/openapi.json").json()
    management = {path: item for path, item in document["paths"].items() if path.startswith("/v1/")}
    assert len(management) >= 16
    for path, item in management.items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            # LiveKit's webhooks are signed, idempotent by event id, and never limited.
            intake = path == "/v1/webhooks/livekit"
            assert ("429" in responses) is not intake, where
            assert "422" in responses or method in ("get", "delete"), where
            # Sign-in, and the public status page (regions and overall status).
            public = path.startswith(("/v1/auth/", "/v1/regions")) or path in (
                "/v1/status",
                "/v1/status/regions",
                "/v1/webhooks/event-types",  # The event catalog is public documentation.
            )
            if not public:
                assert "401" in responses, where
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    assert "application/problem+json" in response["content"], where
            header_names = {
                p["name"] for p in operation.get("parameters", []) if p["in"] == "header"
            }
            expects_key = method == "post" and not path.startswith(
                ("/v1/auth/", "/v1/webhooks/livekit")
            )
            assert ("Idempotency-Key" in header_names) is expects_key, where


def test_lists_page_with_a_cursor_and_a_total(world: World) -> None:
    organization = world.create_organization("owner", "Paging Ltd")
    names = [f"page-{n}" for n in range(5)]
    for name in names:
        world.create_project("owner", organization, name)
    world.settle()

    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = f"/v1/projects?organization_id={organization}&limit=2"
        if cursor:
            query += f"&cursor={cursor}"
        page = world.client.get(query, headers=world.headers("owner")).json()
        assert page["total"] == 5
        assert len(page["items"]) <= 2
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names

    refused = world.client.get(
        f"/v1/projects?organization_id={organization}&cursor=not-a-cursor",
        headers=world.headers("owner"),
    )
    assert refused.status_code == 422
    assert (
        world.client.get("/v1/projects?limit=1000", headers=world.headers("owner")).status_code
        == 422
    )


def test_each_event_of_a_command_records_who_did_it_and_from_where(world: World) -> None:
    request_id = uuid.uuid4().hex
    response = world.client.post(
        "/v1/projects",
        json={"organization_id": str(world.organization_a), "name": "audited"},
        headers={
            **world.headers("developer"),
            "User-Agent": "audit-test/1.0",
            "X-Request-ID": request_id,
        },
    )
    assert response.status_code == 201
    project_id = uuid.UUID(response.json()["project"]["id"])

    events = [
        world.app.mapper.to_domain_event(stored)
        for stored in world.app.recorder.select_events(project_id)
    ]
    assert [type(event).__name__ for event in events] == ["Created", "KeyCreated"]
    for event in events:
        context = event.context  # type: ignore[attr-defined]
        assert context.actor_kind == "user"
        assert context.actor_id == str(world.user_ids["developer"])
        assert context.user_agent == "audit-test/1.0"
        assert context.request_id == request_id
        assert context.ip  # The client address, as the API saw it.


def test_an_invitation_is_accepted_by_the_invited_person_only(world: World) -> None:
    invitee_email = f"invitee-{uuid.uuid4().hex[:8]}@example.com"
    sent = world.client.post(
        f"/v1/organizations/{world.organization_a}/members",
        json={"email": invitee_email, "role": "developer"},
        headers=world.headers("admin"),
    )
    assert sent.status_code == 201, sent.text
    token = sent.json()["token"]
    assert token.startswith("inv_")

    # Someone else, signed in, cannot use it.
    refused = world.client.post(
        "/v1/invitations/accept", json={"token": token}, headers=world.headers("outsider")
    )
    assert refused.status_code == 403, refused.text

    signed_up = world.client.post(
        "/v1/auth/signup",
        json={"email": invitee_email, "name": "Invitee", "password": PASSWORD},
    ).json()
    invitee = {"Authorization": f"Bearer {signed_up['access_token']}"}
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    wrong = world.client.post("/v1/invitations/accept", json={"token": tampered}, headers=invitee)
    # A bad token in the body is bad input, not a failed sign-in: no challenge.
    assert wrong.status_code == 422
    assert "www-authenticate" not in wrong.headers

    joined = world.client.post("/v1/invitations/accept", json={"token": token}, headers=invitee)
    assert joined.status_code == 200, joined.text
    assert joined.json()["role"] == "developer"
    # The membership works at once (authorization reads the event store).
    assert (
        world.client.get(f"/v1/organizations/{world.organization_a}", headers=invitee).status_code
        == 200
    )
    again = world.client.post("/v1/invitations/accept", json={"token": token}, headers=invitee)
    assert again.status_code == 409

    world.settle()
    accepted = world.client.get(
        f"/v1/organizations/{world.organization_a}/invitations?status=accepted",
        headers=world.headers("owner"),
    ).json()
    assert invitee_email in [item["email"] for item in accepted["items"]]


def test_an_invitation_past_its_seven_days_is_listed_as_expired_and_cannot_be_used(
    world: World,
) -> None:
    invitation_id = world.new_invitation()
    invitation = world.app.load(invitation_id, Invitation)
    assert invitation.expires_at - utc_now() > timedelta(days=6, hours=23)
    # Let the week pass for the read model (the domain judges by its own clock).
    world.settle()
    with MongoClient(world.settings.mongo_uri) as mongo:
        mongo[world.settings.mongo_database]["rm_invitations"].update_one(
            {"_id": str(invitation_id)},
            {"$set": {"expires_at": datetime.now(UTC) - timedelta(days=1)}},
        )
    listed = _invitations(world, "expired")
    assert str(invitation_id) in [item["id"] for item in listed]
    assert all(item["status"] == "expired" for item in listed)
    assert str(invitation_id) not in [item["id"] for item in _invitations(world, "pending")]


def _invitations(world: World, status: str) -> list[dict[str, Any]]:
    response = world.client.get(
        f"/v1/organizations/{world.organization_a}/invitations?status={status}&limit=100",
        headers=world.headers("owner"),
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_deleted_organization_disappears_with_its_projects(world: World) -> None:
    organization = world.new_organization_with_team()
    project = world.new_project(organization)
    world.settle()
    listed = world.client.get("/v1/projects?limit=100", headers=world.headers("viewer")).json()
    assert str(project) in [item["id"] for item in listed["items"]]

    assert (
        world.client.delete(
            f"/v1/organizations/{organization}", headers=world.headers("owner")
        ).status_code
        == 204
    )
    world.settle()
    for who in ("owner", "viewer"):
        projects = world.client.get("/v1/projects?limit=100", headers=world.headers(who)).json()
        assert str(project) not in [item["id"] for item in projects["items"]]
        organizations = world.client.get("/v1/organizations", headers=world.headers(who)).json()
        assert str(organization) not in [item["id"] for item in organizations["items"]]
        assert (
            world.client.get(f"/v1/projects/{project}", headers=world.headers(who)).status_code
            == 404
        )
