"""The webhook intake with signed deliveries built here: what is refused, ignored, kept once.

Every refusal and every no-op is checked against the event store itself (no new
notification) and against the read model (no session recorded).
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from livekit.api import WebhookEvent
from livekit.protocol.models import Room

from pulse.domain.context import ActorKind
from pulse.domain.participant_session import ParticipantSession, session_id
from pulse.domain.room import Room as PulseRoom
from pulse.domain.room import room_id
from pulse.domain.webhook_receipt import receipt_id
from pulse.livekit.naming import livekit_room
from tests.management.world import World
from tests.media.livekit_signing import sign, signed_webhook
from tests.media_webhooks.helpers import (
    WEBHOOK,
    deliver,
    last_event_id,
    participant_event,
    room_info,
    sessions_of,
)

PROBLEM = "application/problem+json"


def fresh_room(world: World, project_id: uuid.UUID | None = None) -> tuple[str, Room]:
    name = f"r-{uuid.uuid4().hex[:8]}"
    started = datetime.now(UTC) - timedelta(minutes=2)
    return name, room_info(
        project_id or world.project_a, name, f"RM_{uuid.uuid4().hex[:10]}", started
    )


def joined_event(room: Room, identity: str = "alice") -> WebhookEvent:
    joined = datetime.now(UTC) - timedelta(minutes=1)
    return participant_event(
        "participant_joined", room, f"PA_{uuid.uuid4().hex[:10]}", identity, joined, joined
    )


def assert_nothing_recorded(world: World, before: int, secret: str, room: str) -> None:
    assert last_event_id(world) == before
    world.settle()
    assert sessions_of(world, secret, room).status_code == 404


def assert_unauthorized(answer: Any) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["status"] == 401


def test_a_forged_signature_is_refused(world: World, keys: dict[str, str]) -> None:
    name, room = fresh_room(world)
    before = last_event_id(world)
    body, headers = signed_webhook(joined_event(room), api_secret="not-the-secret")
    assert_unauthorized(world.client.post(WEBHOOK, content=body, headers=headers))
    # Signed by a key no region has.
    body, headers = signed_webhook(joined_event(room), api_key="otherkey", api_secret="secret")
    assert_unauthorized(world.client.post(WEBHOOK, content=body, headers=headers))
    # No signature at all.
    assert_unauthorized(
        world.client.post(WEBHOOK, content=body, headers={"Content-Type": "application/json"})
    )
    assert_nothing_recorded(world, before, keys["a"], name)


def test_a_signature_for_another_body_is_refused(world: World, keys: dict[str, str]) -> None:
    name, room = fresh_room(world)
    before = last_event_id(world)
    body, _ = signed_webhook(joined_event(room))
    other, _ = signed_webhook(joined_event(room, "mallory"))
    headers = {"Content-Type": "application/webhook+json", "Authorization": sign(other)}
    assert_unauthorized(world.client.post(WEBHOOK, content=body, headers=headers))
    assert_nothing_recorded(world, before, keys["a"], name)


def test_rooms_that_are_not_a_projects_are_ignored(world: World, keys: dict[str, str]) -> None:
    before = last_event_id(world)
    strangers = [
        Room(sid="RM_stranger1", name="not-a-pulse-room"),
        # Pulse's naming, but no such project.
        Room(sid="RM_stranger2", name=livekit_room(uuid.uuid4(), "ghost")),
    ]
    for room in strangers:
        answer = deliver(world, joined_event(room))
        assert answer.status_code == 200, answer.text
        assert answer.json()["outcome"] == "ignored"
    # An event Pulse does not handle, for a room of its own, is ignored too.
    name, room = fresh_room(world)
    unhandled = WebhookEvent(event="room_metadata_changed", id="EV_meta", room=room)
    assert deliver(world, unhandled).json()["outcome"] == "ignored"
    assert_nothing_recorded(world, before, keys["a"], name)


def test_a_replayed_delivery_changes_nothing(world: World, keys: dict[str, str]) -> None:
    name, room = fresh_room(world)
    joined = joined_event(room)
    body, headers = signed_webhook(joined)
    first = world.client.post(WEBHOOK, content=body, headers=headers)
    assert first.json()["outcome"] == "recorded", first.text
    after_first = last_event_id(world)
    # The very same request again (LiveKit's retry): the same event id.
    again = world.client.post(WEBHOOK, content=body, headers=headers)
    assert again.status_code == 200
    assert again.json()["outcome"] in {"duplicate", "unchanged"}
    assert last_event_id(world) == after_first

    # Stamped a few seconds ago (a queued delivery): the moment is LiveKit's second.
    left_at = datetime.now(UTC) - timedelta(seconds=3)
    left = participant_event(
        "participant_left",
        room,
        joined.participant.sid,
        "alice",
        datetime.fromtimestamp(joined.participant.joined_at_ms / 1000, UTC),
        left_at,
    )
    body, headers = signed_webhook(left)
    assert world.client.post(WEBHOOK, content=body, headers=headers).json()["outcome"] == "recorded"
    closed = last_event_id(world)
    for _ in range(2):
        replay = world.client.post(WEBHOOK, content=body, headers=headers)
        assert replay.json()["outcome"] in {"duplicate", "unchanged"}
    assert last_event_id(world) == closed

    world.settle()
    items = sessions_of(world, keys["a"], name).json()["items"]
    assert len(items) == 1
    session = items[0]
    assert session["open"] is False
    assert session["closed_by"] == "webhook"
    # The figure: from LiveKit's join (ms) to the event's moment (the second it names).
    expected = datetime.fromtimestamp(int(left_at.timestamp()), UTC) - datetime.fromtimestamp(
        joined.participant.joined_at_ms / 1000, UTC
    )
    assert session["duration_ms"] == round(expected.total_seconds() * 1000)

    # Who did it: LiveKit, as a system actor, under the delivering request's id.
    aggregate = world.app.load(session_id(room.sid, joined.participant.sid), ParticipantSession)
    assert aggregate.duration == Decimal(session["duration_ms"]) / 1000
    events = list(world.app.events.get(aggregate.id))
    assert [type(e).__name__ for e in events] == ["Joined", "Left"]
    contexts = [e.context for e in events]  # type: ignore[attr-defined]
    assert {(c.actor_kind, c.actor_id) for c in contexts} == {(ActorKind.SYSTEM, "livekit")}
    assert all(c.request_id for c in contexts)
    assert contexts[0].request_id != contexts[1].request_id
    receipt = list(world.app.events.get(receipt_id(left.id)))
    assert len(receipt) == 1


def test_concurrent_redeliveries_record_once(world: World, keys: dict[str, str]) -> None:
    name, room = fresh_room(world)
    body, headers = signed_webhook(joined_event(room, "bob"))
    before = last_event_id(world)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(lambda _: world.client.post(WEBHOOK, content=body, headers=headers), range(4))
        )
    outcomes = sorted(a.json()["outcome"] for a in answers)
    assert outcomes.count("recorded") == 1, outcomes
    assert set(outcomes) <= {"recorded", "duplicate", "unchanged"}
    # One delivery's worth: the room's start, the session's join, the receipt.
    assert last_event_id(world) == before + 3
    assert world.app.load(room_id(room.sid), PulseRoom).livekit_sid == room.sid
    world.settle()
    assert sessions_of(world, keys["a"], name).json()["total"] == 1
