"""The event catalog: each domain event customers care about maps to the right type,
scope and data, valid against the type's JSON Schema. Fast: real aggregates, no I/O."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.egress import Egress, EgressKind, EgressStatus, Layout, Observation
from pulse.domain.ingress import Ingress, IngressKind, IngressObservation, IngressStatus
from pulse.domain.member import Member
from pulse.domain.participant_session import ParticipantSession
from pulse.domain.project import Project
from pulse.domain.roles import Role
from pulse.domain.room import ClosedBy, Room
from pulse.domain.webhook_endpoint import DisabledBy, WebhookEndpoint
from pulse.services.webhook_catalog import (
    CATALOG,
    TOPICS,
    CustomerEvent,
    LoaderRequiredError,
    customer_event_of,
    customer_events_of,
)

CTX = CommandContext(ActorKind.SYSTEM, "test")
AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
SEALED = "whsec-enc:v1:c2VhbGVk"


# -- a tiny JSON Schema check (jsonschema is not a dependency) ---------------------------

_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def check(schema: dict[str, Any], value: Any, where: str = "data") -> None:
    """Assert ``value`` matches the subset of JSON Schema the catalog uses."""
    if "enum" in schema:
        assert value in schema["enum"], (where, value)
        return
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        assert any(_TYPES[t](value) for t in types), (where, value, types)
    if isinstance(value, str) and schema.get("format") == "date-time":
        assert _UTC_TIME.match(value), (where, value)
    if isinstance(value, str) and schema.get("format") == "uuid":
        UUID(value)
    if isinstance(value, dict) and "properties" in schema:
        assert set(schema.get("required", [])) <= set(value), (where, value)
        if schema.get("additionalProperties") is False:
            assert set(value) <= set(schema["properties"]), (where, sorted(value))
        for name, item in value.items():
            if name in schema["properties"]:
                check(schema["properties"][name], item, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            check(schema["items"], item, f"{where}[{index}]")


# -- mapping what an aggregate just did ----------------------------------------------------


def mapped(aggregate: Aggregate) -> list[CustomerEvent]:
    """The customer events of the aggregate's pending events, loading it as it is now."""
    found: list[CustomerEvent] = []

    def load(aggregate_id: UUID, version: int) -> Any:
        assert aggregate_id == aggregate.id
        assert version <= aggregate.version
        return aggregate

    for event in aggregate.collect_events():
        found += customer_events_of(event, load)
    return found


def valid(event: CustomerEvent) -> CustomerEvent:
    check(CATALOG[event.type].schema, event.data)
    json.dumps(event.data)  # JSON-ready as it is.
    assert event.occurred_at.tzinfo is not None
    text = json.dumps(event.data)
    assert "whsec" not in text
    assert "digest" not in text
    assert "secret" not in text
    return event


def only(aggregate: Aggregate, type_: str) -> CustomerEvent:
    events = [valid(e) for e in mapped(aggregate)]
    assert [e.type for e in events] == [type_], [e.type for e in events]
    return events[0]


def test_rooms_and_participants() -> None:
    project_id = uuid4()
    room = Room(project_id=project_id, name="show", livekit_sid="RM_1", started_at=AT, context=CTX)
    started = only(room, "room_started")
    assert started.project_id == project_id
    assert started.organization_id is None
    assert started.data["room_name"] == "show"
    assert started.data["started_at"].endswith("Z")

    session = ParticipantSession(
        project_id=project_id,
        room_id=room.id,
        room_name="show",
        room_sid="RM_1",
        participant_sid="PA_1",
        identity="alice",
        name="Alice",
        joined_at=AT,
        context=CTX,
    )
    joined = only(session, "participant_joined")
    assert joined.project_id == project_id
    assert joined.data["identity"] == "alice"
    session.leave(AT + timedelta(seconds=90), ClosedBy.WEBHOOK, "left", CTX)
    left = only(session, "participant_left")
    assert left.project_id == project_id
    assert left.data["duration_seconds"] == 90
    assert left.data["identity"] == "alice"

    room.end(AT + timedelta(minutes=5), ClosedBy.WEBHOOK, "finished", CTX)
    ended = only(room, "room_ended")
    assert ended.project_id == project_id
    assert ended.data["ended_at"] == "2026-03-04T05:11:07Z"


def _egress(project_id: UUID) -> Egress:
    return Egress(
        aggregate_id=uuid4(),
        project_id=project_id,
        room="show",
        kind=EgressKind.ROOM_COMPOSITE,
        layout=Layout.SPEAKER,
        audio_only=False,
        audio_track_id=None,
        video_track_id=None,
        track_id=None,
        outputs={"file": {"filepath": "r/x.mp4"}},
        playback_url=None,
        region="eu-west",
        context=CTX,
    )


def test_an_egress_starts_ends_and_makes_its_recording_available() -> None:
    project_id = uuid4()
    egress = _egress(project_id)
    assert mapped(egress) == []  # Requested: nothing for customers yet.
    egress.record_started("EG_1", Observation(EgressStatus.ACTIVE, 1, {"started_at": AT}), CTX)
    started = only(egress, "egress_started")
    assert started.project_id == project_id
    assert started.data["livekit_egress_id"] == "EG_1"

    # As LiveKit's results are stored: with datetimes, which the payload spells in UTC.
    files = [{"filename": "r/x.mp4", "size_bytes": 10, "ended_at": AT}]
    egress.observe(
        Observation(
            EgressStatus.COMPLETE,
            2,
            {"ended_at": AT, "results": {"files": files, "playlists": [], "streams": []}},
        ),
        CTX,
    )
    ended, available = [valid(e) for e in mapped(egress)]
    assert (ended.type, available.type) == ("egress_ended", "recording_available")
    assert ended.data["status"] == "complete"
    assert available.data["files"] == [{**files[0], "ended_at": "2026-03-04T05:06:07Z"}]
    assert ended.event_id != available.event_id  # One delivery each per endpoint.


def test_an_egress_that_fails_ends_without_a_recording() -> None:
    egress = _egress(uuid4())
    egress.record_refused("unavailable", "no egress worker", AT, CTX)
    failed = only(egress, "egress_ended")
    assert failed.data["status"] == "failed"
    assert failed.data["error"] == "no egress worker"

    lost = _egress(uuid4())
    lost.record_started("EG_2", Observation(EgressStatus.ACTIVE, 1), CTX)
    lost.collect_events()
    lost.record_lost(AT, "LiveKit no longer knows it", CTX)
    assert only(lost, "egress_ended").data["error_code"] == "not_found"


def test_an_ingress_starts_when_publishing_and_ends_after() -> None:
    project_id = uuid4()
    ingress = Ingress(
        aggregate_id=uuid4(),
        project_id=project_id,
        room="show",
        kind=IngressKind.RTMP,
        name="obs",
        participant_identity="streamer",
        participant_name=None,
        source_url=None,
        enable_transcoding=None,
        region="eu-west",
        context=CTX,
    )
    ingress.record_created(
        "IN_1", "rtmp://x/live", True, IngressObservation(IngressStatus.INACTIVE, 1), CTX
    )
    assert mapped(ingress) == []  # Waiting for a stream is neither a start nor an end.
    ingress.observe(IngressObservation(IngressStatus.BUFFERING, 2), CTX)
    assert mapped(ingress) == []
    ingress.observe(IngressObservation(IngressStatus.PUBLISHING, 3, {"started_at": AT}), CTX)
    started = only(ingress, "ingress_started")
    assert started.project_id == project_id
    assert started.data["participant_identity"] == "streamer"
    ingress.observe(IngressObservation(IngressStatus.INACTIVE, 4, {"ended_at": AT}), CTX)
    assert only(ingress, "ingress_ended").data["status"] == "inactive"


def test_project_and_key_changes_carry_no_secret() -> None:
    organization_id = uuid4()
    project = Project(
        organization_id=organization_id,
        name="app",
        region="eu-west",
        webhook_url=None,
        storage=None,
        context=CTX,
    )
    assert mapped(project) == []
    project.add_key("pk_1", "ci", "digest-of-the-secret", AT, CTX)
    created = only(project, "api_key.created")
    assert created.project_id == project.id
    assert created.data["key_id"] == "pk_1"
    assert "digest-of-the-secret" not in json.dumps(created.data)

    project.rotate_key("pk_1", "pk_2", "another-digest", AT, AT + timedelta(hours=1), CTX)
    rotated = only(project, "api_key.rotated")
    assert rotated.data["retired_key_ids"] == ["pk_1"]
    assert rotated.data["new_key_id"] == "pk_2"
    project.regenerate_keys("pk_3", "third-digest", AT, AT, CTX)
    assert only(project, "api_key.rotated").data["retired_key_ids"] == ["pk_1", "pk_2"]
    project.revoke_key("pk_3", AT, CTX)
    assert only(project, "api_key.revoked").data["key_id"] == "pk_3"

    project.update({"name": "app2", "storage": {"secret_access_key": "enc:v1:xyz"}}, CTX)
    updated = only(project, "project.updated")
    assert updated.data["changed"] == ["name", "storage"]
    assert updated.data["name"] == "app2"
    assert "enc:v1" not in json.dumps(updated.data)
    project.delete(AT, CTX)
    assert only(project, "project.deleted").project_id == project.id


def test_member_changes_are_scoped_to_the_organization() -> None:
    organization_id, user_id = uuid4(), uuid4()
    member = Member(
        organization_id=organization_id,
        user_id=user_id,
        email="a@example.com",
        role="viewer",
        context=CTX,
    )
    added = only(member, "member.added")
    assert added.organization_id == organization_id
    assert added.project_id is None
    member.change_role(Role.ADMIN, CTX)
    changed = only(member, "member.role_changed")
    assert (changed.data["role"], changed.data["previous_role"]) == ("admin", "viewer")
    member.remove(CTX)
    assert only(member, "member.removed").data["user_id"] == str(user_id)
    member.rejoin(Role.DEVELOPER, AT, CTX)
    assert only(member, "member.added").data["role"] == "developer"


def test_a_disabled_endpoint_is_announced_without_its_secret() -> None:
    endpoint = WebhookEndpoint(
        aggregate_id=uuid4(),
        project_id=uuid4(),
        url="https://hooks.example.com/x",
        description="",
        event_types=[],
        sealed_secret=SEALED,
        context=CTX,
    )
    assert mapped(endpoint) == []
    endpoint.disable(DisabledBy.GONE, "The endpoint answered 410 Gone", AT, CTX)
    disabled = only(endpoint, "webhook_endpoint.disabled")
    assert disabled.project_id == endpoint.project_id
    assert disabled.data["disabled_by"] == "gone"
    assert SEALED not in json.dumps(disabled.data)


def test_event_ids_are_stable_and_topics_cover_the_mapping() -> None:
    room = Room(project_id=uuid4(), name="r", livekit_sid="RM_9", started_at=AT, context=CTX)
    (event,) = room.collect_events()
    first, again = customer_event_of(event), customer_event_of(event)
    assert first is not None
    assert again is not None
    assert first.event_id == again.event_id
    assert get_topic(type(event)) in TOPICS
    # An event that names only its aggregate needs the loader, rather than being dropped.
    room.end(AT, ClosedBy.WEBHOOK, "done", CTX)
    (ended,) = room.collect_events()
    with pytest.raises(LoaderRequiredError):
        customer_events_of(ended)


def test_every_catalog_entry_is_a_versioned_object_schema() -> None:
    for name, event_type in CATALOG.items():
        assert event_type.name == name
        assert event_type.version >= 1
        assert event_type.description
        assert event_type.schema["type"] == "object"
        assert set(event_type.schema["required"]) <= set(event_type.schema["properties"])
    media = {
        "participant_joined",
        "participant_left",
        "room_started",
        "room_ended",
        "egress_started",
        "egress_ended",
        "recording_available",
        "ingress_started",
        "ingress_ended",
    }
    assert media <= set(CATALOG)
