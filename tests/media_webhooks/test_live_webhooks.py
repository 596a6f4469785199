"""LiveKit's own webhooks, from the real livekit-server, reaching Pulse on 127.0.0.1:8099.

A real participant joins with a Pulse token and publishes a generated tone; Pulse
learns of the room and the session from LiveKit alone, and a banned identity holding
a token minted before its ban is removed as soon as LiveKit reports its join.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from livekit import api as lk

from pulse.domain.context import ActorKind
from pulse.domain.moderation import moderation_id
from pulse.domain.participant_session import session_id
from tests.management.world import World
from tests.media.pulse_server import serving
from tests.media_api.participants import joined, publish_tone, wait_for
from tests.media_webhooks.conftest import pulse_app
from tests.media_webhooks.helpers import eventually, key_headers, sessions_of

CONNECTED = 1  # rtc.ConnectionState.CONN_CONNECTED


@pytest.fixture(scope="module", autouse=True)
def webhook_server(world: World) -> Iterator[str]:
    """Pulse on the port livekit-server sends its webhooks to, on this module's database."""
    with serving(pulse_app(world.settings)) as url:
        yield url


def mint(world: World, secret: str, room: str, identity: str) -> Any:
    return world.client.post(
        "/v1/tokens/create", json={"room": room, "identity": identity}, headers=key_headers(secret)
    )


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def closed_session(world: World, secret: str, room: str) -> dict[str, Any] | None:
    world.settle()
    answer = sessions_of(world, secret, room)
    if answer.status_code != 200:
        return None
    items = answer.json()["items"]
    return items[0] if items and not items[0]["open"] else None


def test_a_real_participant_is_recorded_from_livekits_webhooks(
    world: World, keys: dict[str, str]
) -> None:
    room = f"standup-{uuid.uuid4().hex[:6]}"
    answer = mint(world, keys["a"], room, "alice")
    assert answer.status_code == 201, answer.text
    issued = answer.json()

    async def stay() -> tuple[str, str, dict[str, Any]]:
        async with joined(issued["url"], issued["token"]) as connected:
            await publish_tone(connected, 0.5)

            def open_session() -> dict[str, Any] | None:
                world.settle()
                found = sessions_of(world, keys["a"], room)
                items = found.json()["items"] if found.status_code == 200 else []
                return items[0] if items and items[0]["tracks"] else None

            # While connected: the session is open, with its published track.
            session = await asyncio.to_thread(eventually, open_session)
            await asyncio.sleep(1.0)
            return await connected.sid, connected.local_participant.sid, session

    room_sid, participant_sid, live = asyncio.run(stay())
    assert live["open"] is True
    assert live["duration_ms"] is None
    assert (live["identity"], live["room_sid"], live["participant_sid"]) == (
        "alice",
        room_sid,
        participant_sid,
    )
    assert [(t["kind"], t["source"]) for t in live["tracks"]] == [("audio", "microphone")]

    session = eventually(lambda: closed_session(world, keys["a"], room))
    assert session["closed_by"] == "webhook"
    assert session["close_reason"].startswith("participant_left")
    # It stayed at least the tone and the second after it; well under a minute.
    assert 1_400 <= session["duration_ms"] < 60_000
    span = parse(session["left_at"]) - parse(session["joined_at"])
    assert abs(span.total_seconds() * 1000 - session["duration_ms"]) < 1
    assert session["duration_seconds"] == session["duration_ms"] / 1000

    instances = world.client.get(f"/v1/rooms/{room}/instances", headers=key_headers(keys["a"]))
    assert instances.status_code == 200, instances.text
    [instance] = instances.json()["items"]
    assert instance["livekit_sid"] == room_sid
    assert parse(instance["started_at"]) <= parse(session["joined_at"])

    # Closing the room: LiveKit's room_finished ends the instance.
    closed = world.client.delete(f"/v1/rooms/{room}", headers=key_headers(keys["a"]))
    assert closed.status_code == 204, closed.text

    def ended() -> dict[str, Any] | None:
        world.settle()
        found = world.client.get(f"/v1/rooms/{room}/instances", headers=key_headers(keys["a"]))
        item: dict[str, Any] = found.json()["items"][0]
        return None if item["open"] else item

    finished = eventually(ended)
    assert finished["closed_by"] == "webhook"
    assert finished["close_reason"].startswith("room_finished")
    assert parse(finished["ended_at"]) >= parse(session["left_at"])

    # Recorded on LiveKit's word: a system actor, under the delivery's request id.
    events = list(world.app.events.get(session_id(room_sid, participant_sid)))
    assert type(events[0]).__name__ == "Joined"
    assert type(events[-1]).__name__ == "Left"
    for event in events:
        context = event.context  # type: ignore[attr-defined]
        assert (context.actor_kind, context.actor_id) == (ActorKind.SYSTEM, "livekit")
        assert context.request_id

    # Another project's key: that room does not exist for it.
    for path in ("sessions", "instances"):
        other = world.client.get(f"/v1/rooms/{room}/{path}", headers=key_headers(keys["b"]))
        assert other.status_code == 404
        assert other.headers["content-type"] == "application/problem+json"


def test_a_banned_identity_with_an_old_token_is_removed_on_join(
    world: World, keys: dict[str, str]
) -> None:
    room = f"chat-{uuid.uuid4().hex[:6]}"
    before_ban = mint(world, keys["a"], room, "troll").json()
    banned = world.client.post(
        f"/v1/rooms/{room}/bans",
        json={"identity": "troll", "duration_seconds": 600, "reason": "spam"},
        headers=key_headers(keys["a"]),
    )
    assert banned.status_code == 201, banned.text

    refused = mint(world, keys["a"], room, "troll")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"

    async def rejoin() -> list[str]:
        # The old token still opens LiveKit's door; Pulse shows the troll out.
        async with joined(before_ban["url"], before_ban["token"]) as connected:
            await wait_for(lambda: connected.connection_state != CONNECTED, 10.0)
        async with lk.LiveKitAPI("http://127.0.0.1:7880", "devkey", "secret") as api:
            request = lk.ListParticipantsRequest(room=before_ban["livekit_room"])
            listed = await api.room.list_participants(request)
        return [p.identity for p in listed.participants]

    assert "troll" not in asyncio.run(rejoin())

    # It was Pulse, on LiveKit's participant_joined webhook, that removed it.
    # (Recorded just after the removal: the client may see its disconnection first.)
    def recorded_removals() -> list[Any] | None:
        events = world.app.events.get(moderation_id(world.project_a, room))
        found = [e for e in events if type(e).__name__ == "ParticipantRemoved"]
        return found or None

    removals = eventually(recorded_removals, 5.0)
    assert [e.identity for e in removals] == ["troll"]
    context = removals[0].context
    assert (context.actor_kind, context.actor_id) == (ActorKind.SYSTEM, "livekit")
    # A welcome participant in the same room stays.
    welcome = mint(world, keys["a"], room, "nice").json()

    async def stays() -> int:
        async with joined(welcome["url"], welcome["token"]) as connected:
            await asyncio.sleep(2.0)
            return int(connected.connection_state)

    assert asyncio.run(stays()) == CONNECTED
