"""What an event becomes in the audit log, with no I/O: action, resource, outcome,
actor, details (safe values only), and which events are left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from pulse.domain.access_attempt import AccessAttempt
from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.egress import Egress, EgressKind, EgressStatus, Observation
from pulse.domain.member import Member
from pulse.domain.organization import Organization
from pulse.domain.project import Project
from pulse.domain.roles import Role
from pulse.domain.room import Room
from pulse.domain.user import User
from pulse.domain.webhook_endpoint import WebhookEndpoint
from pulse.projections.audit_log import (
    audited_topic,
    entry_of,
    snake,
)

ALICE = CommandContext(
    ActorKind.USER, "user-1", ip="203.0.113.7", user_agent="cli/1.0", request_id="req-1"
)
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def events_of(aggregate: Any) -> list[Any]:
    return list(aggregate.collect_events())


def test_names_become_snake_case() -> None:
    assert snake("KeysRegenerated") == "keys_regenerated"
    assert snake("RoomModeration") == "room_moderation"
    assert snake("CreatedByApi") == "created_by_api"
    assert snake("LiveKitAlias") == "live_kit_alias"
    assert snake("Created") == "created"


def test_a_project_and_its_keys_are_audited_with_actor_and_action() -> None:
    organization_id = uuid4()
    project = Project(organization_id, "app", "eu-west", None, None, context=ALICE)
    project.add_key("pk_1", "default", "digest-of-secret", NOW, ALICE)
    project.rotate_key("pk_1", "pk_2", "digest-two", NOW, NOW + timedelta(hours=1), ALICE)
    project.update({"name": "renamed", "region": "us-east"}, ALICE)
    entries = [entry_of(event) for event in events_of(project)]
    assert [e["action"] for e in entries if e] == [
        "project.created",
        "project.key_created",
        "project.key_rotated",
        "project.updated",
    ]
    created = entries[0]
    assert created is not None
    assert created["_id"] == f"{project.id}:1"
    assert created["resource"] == {"type": "project", "id": str(project.id)}
    assert created["actor"] == {"kind": "user", "id": "user-1"}
    assert (created["ip"], created["user_agent"], created["request_id"]) == (
        "203.0.113.7",
        "cli/1.0",
        "req-1",
    )
    assert created["outcome"] == "success"
    assert created["details"] == {"name": "app", "region": "eu-west"}
    rotated = entries[2]
    assert rotated is not None
    assert rotated["details"]["key_id"] == "pk_1"
    assert rotated["details"]["new_key_id"] == "pk_2"
    updated = entries[3]
    assert updated is not None
    assert updated["details"]["changed"] == ["name", "region"]
    assert "renamed" not in str(updated["details"])  # Names of changes, not their values.
    assert updated["details"]["region"] == "us-east"  # ...except allow-listed safe ones.
    for entry in entries:
        assert "digest" not in str(entry)


def test_secret_bearing_fields_never_reach_the_details() -> None:
    project = Project(
        uuid4(),
        "app",
        "eu-west",
        "https://hooks.example.com/?token=abc",
        {"provider": "s3", "bucket": "b", "sealed_secret_access_key": "SEALED"},
        context=ALICE,
    )
    endpoint = WebhookEndpoint(
        uuid4(), project.id, "https://x.example.com/h?k=s", "d", [], "SEALED-WHSEC", ALICE
    )
    endpoint.rotate_secret("SEALED-NEW", NOW, ALICE)
    user = User("a@example.com", "A", "$argon2id$hash", ALICE)
    texts = [str(entry_of(e)) for e in [*events_of(project), *events_of(endpoint)]]
    for text in texts:
        for secret in ("SEALED", "token=abc", "k=s"):
            assert secret not in text
    assert [entry_of(e) for e in events_of(user)] == [None]  # Accounts: not per organization.


def test_a_denied_attempt_names_its_target_and_is_denied() -> None:
    organization_id = uuid4()
    attempt = AccessAttempt(
        organization_id=organization_id,
        project_id=None,
        action="DELETE /v1/organizations/{organization_id}",
        resource_type="organization",
        resource_id=str(organization_id),
        reason="The developer role does not allow organization:delete",
        context=ALICE,
    )
    (entry,) = [entry_of(event) for event in events_of(attempt)]
    assert entry is not None
    assert entry["action"] == "access_attempt.denied"
    assert entry["outcome"] == "denied"
    assert entry["resource"] == {"type": "organization", "id": str(organization_id)}
    assert entry["details"]["attempted"] == "DELETE /v1/organizations/{organization_id}"
    assert "organization:delete" in entry["details"]["reason"]


def _egress() -> Egress:
    return Egress(
        uuid4(),
        uuid4(),
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


def test_failures_are_audited_as_failures() -> None:
    refused = _egress()
    refused.record_refused("unavailable", "no egress worker", NOW, CommandContext.system("api"))
    outcomes = [entry["outcome"] for entry in map(entry_of, events_of(refused)) if entry]
    assert outcomes == ["success", "failure"]

    lost = _egress()
    lost.record_started("EG_1", Observation(EgressStatus.ACTIVE, 1), ALICE)
    lost.observe(
        Observation(EgressStatus.FAILED, 2, {"error": "s3://secret-bucket?sig=x"}),
        CommandContext.system("livekit"),
    )
    entries = [entry for entry in map(entry_of, events_of(lost)) if entry]
    last = entries[-1]  # The usage figures that follow (Metered) are not audited.
    assert last["action"] == "egress.updated"
    assert last["outcome"] == "failure"
    assert last["actor"] == {"kind": "system", "id": "livekit"}
    assert "sig=x" not in str(last)  # LiveKit's error text is not copied.


@pytest.mark.parametrize(
    ("topic", "audited"),
    [
        ("pulse.domain.project:Project.Created", True),
        ("pulse.domain.participant_session:ParticipantSession.Joined", False),
        ("pulse.domain.room:Room.Started", False),
        ("pulse.domain.webhook_delivery:WebhookDelivery.AttemptFailed", False),
        ("pulse.domain.token_usage:TokenUsage.Counted", False),
        ("pulse.domain.api_usage:ApiUsage.Counted", False),
        ("pulse.domain.egress:Egress.Metered", False),
        ("pulse.domain.egress:Egress.StartFailed", True),
        ("pulse.domain.session:Session.Rotated", False),
        ("pulse.domain.access_attempt:AccessAttempt.Denied", True),
    ],
)
def test_operational_noise_is_left_out(topic: str, audited: bool) -> None:
    assert audited_topic(topic) is audited


def test_room_events_are_noise_and_membership_changes_are_not() -> None:
    room = Room(uuid4(), "standup", "RM_1", NOW, CommandContext.system("livekit"))
    assert [entry_of(e) for e in events_of(room)] == [None]
    organization = Organization("Acme", "ops@example.com", "free", uuid4(), ALICE)
    member = Member(organization.id, uuid4(), "m@example.com", "viewer", ALICE)
    member.change_role(Role.ADMIN, ALICE)
    entries = [entry_of(e) for e in events_of(member)]
    assert [e["action"] for e in entries if e] == ["member.joined", "member.role_changed"]
    changed = entries[1]
    assert changed is not None
    assert changed["details"] == {"role": "admin", "previous": "viewer"}
