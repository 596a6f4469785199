"""The audit log shows every management command with actor, IP and outcome; refused
attempts as denied; no secret anywhere; and only to members of its organization."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest

from pulse.api import denied_attempts
from pulse.domain.member import member_id
from pulse.projections.audit_log import SAFE_FIELDS
from tests.audit.support import log_of, settle, stored_entries
from tests.management.world import PASSWORD, World

AGENT = "audit-suite/1.0"


@dataclass
class Run:
    """What one pass through every management command did, and the secrets it saw."""

    organization: UUID
    project: UUID
    invitee: UUID
    secrets: list[str] = field(default_factory=list)
    # (action, actor user id) of each command's entries.
    expected: list[tuple[str, UUID]] = field(default_factory=list)


def call(world: World, who: str | dict[str, str], method: str, path: str, **kwargs: Any) -> Any:
    headers = world.headers(who) if isinstance(who, str) else who
    response = world.client.request(
        method, path, headers={**headers, "User-Agent": AGENT}, **kwargs
    )
    assert response.status_code < 300, (method, path, response.text)
    return None if response.status_code == 204 else response.json()


def every_command(world: World) -> Run:
    owner = world.user_ids["owner"]
    organization = UUID(
        call(
            world,
            "owner",
            "POST",
            "/v1/organizations",
            json={"name": "Audited", "admin_email": "ops@example.com"},
        )["id"]
    )
    org = f"/v1/organizations/{organization}"
    call(world, "owner", "PUT", org, json={"name": "Audited Ltd", "plan": "pro"})
    storage_secret = f"STORAGE-{uuid.uuid4().hex}"
    created = call(
        world,
        "owner",
        "POST",
        "/v1/projects",
        json={
            "organization_id": str(organization),
            "name": "audited-app",
            "storage": {
                "provider": "s3",
                "bucket": "audited-bucket",
                "access_key_id": "AKIAAUDIT",
                "secret_access_key": storage_secret,
            },
        },
    )
    project = UUID(created["project"]["id"])
    proj = f"/v1/projects/{project}"
    secrets = [storage_secret, created["key"]["secret"]]
    call(world, "owner", "PUT", proj, json={"name": "audited-app-2"})
    secrets.append(call(world, "owner", "POST", f"{proj}/regenerate-keys")["key"]["secret"])
    issued = call(world, "owner", "POST", f"{proj}/keys", json={"name": "ci"})
    secrets.append(issued["secret"])
    rotated = call(
        world,
        "owner",
        "POST",
        f"{proj}/keys/{issued['key']['id']}/rotate",
        json={"grace_seconds": 0},
    )
    secrets.append(rotated["new"]["secret"])
    call(world, "owner", "DELETE", f"{proj}/keys/{rotated['new']['key']['id']}")
    endpoint = call(
        world, "owner", "POST", f"{proj}/webhooks/endpoints", json={"url": "https://8.8.8.8/hook"}
    )
    secrets.append(endpoint["secret"])
    secrets.append(
        call(
            world,
            "owner",
            "POST",
            f"{proj}/webhooks/endpoints/{endpoint['id']}/rotate-secret",
            json={"grace_seconds": 0},
        )["secret"]
    )

    # The team: an invitation accepted, a role changed, a member removed, one revoked.
    email = f"audited-{uuid.uuid4().hex[:8]}@example.com"
    sent = call(
        world, "owner", "POST", f"{org}/members", json={"email": email, "role": "developer"}
    )
    secrets.append(sent["token"])
    signed_up = call(
        world,
        {},
        "POST",
        "/v1/auth/signup",
        json={"email": email, "name": "Audited", "password": PASSWORD},
    )
    secrets += [signed_up["access_token"], signed_up["refresh_token"]]
    invitee = UUID(signed_up["user"]["id"])
    as_invitee = {"Authorization": f"Bearer {signed_up['access_token']}"}
    call(world, as_invitee, "POST", "/v1/invitations/accept", json={"token": sent["token"]})
    call(world, "owner", "PUT", f"{org}/members/{invitee}/role", json={"role": "viewer"})
    call(world, "owner", "DELETE", f"{org}/members/{invitee}")
    revoked = call(world, "owner", "POST", f"{org}/members", json={"email": "later@example.com"})
    secrets.append(revoked["token"])
    call(world, "owner", "DELETE", f"{org}/invitations/{revoked['invitation']['id']}")
    call(world, "owner", "DELETE", proj)

    by_owner = [
        "organization.created",
        "member.joined",  # The creator, as its first Owner.
        "organization.updated",
        "project.created",
        "project.key_created",
        "project.updated",
        "project.keys_regenerated",
        "project.key_created",
        "project.key_rotated",
        "project.key_revoked",
        "webhook_endpoint.created",
        "webhook_endpoint.secret_rotated",
        "invitation.sent",
        "member.role_changed",
        "member.removed",
        "invitation.sent",
        "invitation.revoked",
        "project.deleted",
    ]
    expected = [(action, owner) for action in by_owner]
    expected += [("invitation.accepted", invitee), ("member.joined", invitee)]
    return Run(organization, project, invitee, secrets, expected)


def test_every_management_command_is_in_the_log_with_actor_ip_and_outcome(
    world: World,
) -> None:
    run = every_command(world)
    settle(world)
    entries = log_of(world, run.organization)
    seen = sorted((entry["action"], entry["actor"]["id"]) for entry in entries)
    assert seen == sorted((action, str(actor)) for action, actor in run.expected)
    for entry in entries:
        assert entry["organization_id"] == str(run.organization)
        assert entry["actor"]["kind"] == "user"
        assert entry["ip"] == "testclient"  # The client address as the API saw it.
        assert entry["user_agent"] == AGENT
        assert entry["request_id"]
        assert entry["outcome"] == "success"
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)  # Oldest first.
    project_entries = [e for e in entries if e["resource"]["type"] == "project"]
    assert {e["project_id"] for e in project_entries} == {str(run.project)}

    # Filters: by action, actor, resource.
    rotated = log_of(world, run.organization, action="project.key_rotated")
    assert [e["action"] for e in rotated] == ["project.key_rotated"]
    by_invitee = log_of(world, run.organization, actor_id=str(run.invitee))
    assert sorted(e["action"] for e in by_invitee) == ["invitation.accepted", "member.joined"]
    invitations = log_of(world, run.organization, resource_type="invitation")
    assert sorted(e["action"] for e in invitations) == [
        "invitation.accepted",
        "invitation.revoked",
        "invitation.sent",
        "invitation.sent",
    ]
    one = log_of(world, run.organization, resource_type="project", resource_id=str(run.project))
    assert len(one) == len(project_entries)
    first = entries[0]["at"]
    assert log_of(world, run.organization, to=first) == []
    assert len(log_of(world, run.organization, **{"from": first})) == len(entries)

    # No secret the API returned (keys, storage, webhook signing, invitation and
    # session tokens) is in any entry, and no field beyond the allow list is copied.
    stored = json.dumps(stored_entries(world), default=str)
    for secret in run.secrets:
        assert secret not in stored
    assert "whsec_" not in stored
    assert "sk_" not in stored
    for entry in entries:
        assert set(entry["details"]) <= SAFE_FIELDS | {"changed", "attempted"}


def test_deleting_an_organization_is_audited(world: World) -> None:
    organization = world.create_organization("owner", "Short-lived")
    call(world, "owner", "DELETE", f"/v1/organizations/{organization}")
    settle(world)
    # The organization is gone for the API (its log with it); the entry is kept.
    deleted = [
        e
        for e in stored_entries(world)
        if e["organization_id"] == str(organization) and e["action"] == "organization.deleted"
    ]
    assert len(deleted) == 1
    assert deleted[0]["actor"]["id"] == str(world.user_ids["owner"])
    assert deleted[0]["outcome"] == "success"


def test_refused_attempts_are_in_the_log_as_denied(world: World) -> None:
    organization, project = world.organization_a, world.project_a
    refusals = [
        ("developer", "DELETE", f"/v1/organizations/{organization}", None),
        ("viewer", "POST", "/v1/projects", {"organization_id": str(organization), "name": "no"}),
        ("viewer", "PUT", f"/v1/projects/{project}", {"name": "nope"}),
        (
            "admin",
            "PUT",
            f"/v1/organizations/{organization}/members/{world.user_ids['owner']}/role",
            {"role": "viewer"},
        ),
    ]
    for who, method, path, body in refusals:
        response = world.client.request(method, path, json=body, headers=world.headers(who))
        assert response.status_code == 403, response.text
    settle(world)
    denied = log_of(world, organization, outcome="denied")
    found = {(e["actor"]["id"], e["details"]["attempted"]): e for e in denied}
    ids = world.user_ids
    org_delete = found[(str(ids["developer"]), "DELETE /v1/organizations/{organization_id}")]
    assert org_delete["action"] == "access_attempt.denied"
    assert org_delete["resource"] == {"type": "organization", "id": str(organization)}
    assert org_delete["project_id"] is None
    assert org_delete["ip"] == "testclient"
    assert "does not allow" in org_delete["details"]["reason"]
    create = found[(str(ids["viewer"]), "POST /v1/projects")]
    assert create["resource"] == {"type": "project", "id": None}
    update = found[(str(ids["viewer"]), "PUT /v1/projects/{project_id}")]
    assert update["resource"] == {"type": "project", "id": str(project)}
    assert update["project_id"] == str(project)
    demote = found[
        (str(ids["admin"]), "PUT /v1/organizations/{organization_id}/members/{user_id}/role")
    ]
    owner_member = str(member_id(organization, ids["owner"]))
    assert demote["resource"] == {"type": "member", "id": owner_member}
    # The same resource id as the member's own entries.
    joined = log_of(world, organization, action="member.joined", resource_id=owner_member)
    assert [e["details"]["user_id"] for e in joined] == [str(ids["owner"])]
    assert "Owner" in demote["details"]["reason"]
    # Every role may read the log; the attempt is visible to the one refused too.
    assert org_delete in log_of(world, organization, who="developer", outcome="denied")


def test_a_refusal_outside_the_role_matrix_is_not_recorded(world: World) -> None:
    # An outsider is no member: the organization does not exist for them (404).
    response = world.client.delete(
        f"/v1/organizations/{world.organization_a}", headers=world.headers("outsider")
    )
    assert response.status_code == 404
    settle(world)
    outsider = str(world.user_ids["outsider"])
    assert not [
        e
        for e in stored_entries(world)
        if e["actor"]["id"] == outsider and e["organization_id"] == str(world.organization_a)
    ]


def test_a_refusal_that_cannot_be_recorded_is_still_a_403(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("event store unavailable")

    monkeypatch.setattr(denied_attempts, "record_denied", broken)
    response = world.client.delete(
        f"/v1/organizations/{world.organization_a}",
        headers={**world.headers("viewer"), "X-Request-ID": "unrecorded-refusal"},
    )
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    settle(world)
    assert not [e for e in stored_entries(world) if e["request_id"] == "unrecorded-refusal"]
