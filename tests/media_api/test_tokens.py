"""Tokens minted by Pulse, checked by the real livekit-server: accepted for the
project's own room, useless for another project's."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from livekit import api as lk

from pulse.livekit.naming import livekit_room
from tests.management.world import World
from tests.media_api.participants import joined, publish_tone


def key_headers(secret: str) -> dict[str, str]:
    return {"X-Pulse-Key": secret}


def mint(world: World, secret: str, **body: Any) -> Any:
    return world.client.post("/v1/tokens/create", json=body, headers=key_headers(secret))


@pytest.fixture(scope="module")
def keys(world: World) -> dict[str, str]:
    secrets = {
        "a": world.new_key_secret(world.project_a, "owner"),
        "b": world.new_key_secret(world.project_b, "outsider"),
    }
    world.settle()  # Made through the services: found through the read model.
    return secrets


def test_a_pulse_token_joins_the_projects_room_on_livekit(
    world: World, keys: dict[str, str]
) -> None:
    room = f"standup-{uuid.uuid4().hex[:6]}"
    answer = mint(world, keys["a"], room=room, identity="alice", name="Alice")
    assert answer.status_code == 201, answer.text
    issued = answer.json()
    assert issued["url"] == "ws://127.0.0.1:7880"
    assert issued["livekit_room"] == livekit_room(world.project_a, room)
    assert issued["region"] == "eu-west"

    async def join() -> list[str]:
        async with joined(issued["url"], issued["token"]) as connected:
            await publish_tone(connected, 0.2)
            assert connected.name == issued["livekit_room"]
            listed = world.client.get("/v1/rooms", headers=key_headers(keys["a"])).json()
            people = world.client.get(
                f"/v1/rooms/{room}/participants", headers=key_headers(keys["a"])
            ).json()
            assert room in [r["name"] for r in listed]
            return [p["identity"] for p in people]

    assert asyncio.run(join()) == ["alice"]


def test_the_same_room_name_in_two_projects_is_two_rooms(
    world: World, keys: dict[str, str]
) -> None:
    room = f"lobby-{uuid.uuid4().hex[:6]}"
    token_a = mint(world, keys["a"], room=room, identity="ann").json()
    token_b = mint(world, keys["b"], room=room, identity="bob").json()
    assert token_a["livekit_room"] != token_b["livekit_room"]

    async def both() -> tuple[list[str], list[str]]:
        async with (
            joined(token_a["url"], token_a["token"]) as a,
            joined(token_b["url"], token_b["token"]) as b,
        ):
            await asyncio.sleep(0.3)
            return (
                [p.identity for p in a.remote_participants.values()],
                [p.identity for p in b.remote_participants.values()],
            )

    assert asyncio.run(both()) == ([], [])  # Neither sees the other.


def test_a_token_is_refused_by_livekit_for_a_room_of_another_project(
    world: World, keys: dict[str, str]
) -> None:
    """Even with room admin for its own room, a token cannot touch another project's."""
    room = f"private-{uuid.uuid4().hex[:6]}"
    theirs = mint(world, keys["b"], room=room, identity="bob").json()
    mine = mint(world, keys["a"], room=room, identity="mallory", grants={"room_admin": True}).json()

    async def attempt() -> tuple[int, int]:
        async with (
            joined(theirs["url"], theirs["token"]),
            lk.LiveKitAPI("http://127.0.0.1:7880", token=mine["token"]) as api,
        ):
            try:
                await api.room.list_participants(
                    lk.ListParticipantsRequest(room=theirs["livekit_room"])
                )
            except lk.TwirpError as error:
                other = error.status
            else:
                other = 200
            own = await api.room.list_participants(
                lk.ListParticipantsRequest(room=mine["livekit_room"])
            )
            return other, len(own.participants)

    refused_status, own_count = asyncio.run(attempt())
    assert refused_status in (401, 403)
    assert own_count == 0  # The same token works for its own room.


def test_validate_tells_this_projects_live_tokens_from_others(
    world: World, keys: dict[str, str]
) -> None:
    mine = mint(world, keys["a"], room="check", identity="carol", ttl_seconds=120).json()
    theirs = mint(world, keys["b"], room="check", identity="dave").json()

    def validate(token: str) -> Any:
        answer = world.client.post(
            "/v1/tokens/validate", json={"token": token}, headers=key_headers(keys["a"])
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    good = validate(mine["token"])
    assert good["valid"] is True
    assert good["room"] == "check"
    assert good["identity"] == "carol"
    assert good["grants"]["room_join"] is True
    assert validate(theirs["token"]) == {
        "valid": False,
        "reason": "not a token for a room of this project",
        "room": None,
        "identity": None,
        "expires_at": None,
        "grants": None,
    }
    forged = lk.AccessToken("devkey", "not-the-secret").with_identity("eve").to_jwt()
    assert validate(forged)["valid"] is False


def test_token_requests_are_validated(world: World, keys: dict[str, str]) -> None:
    for body in (
        {"room": "bad room!", "identity": "x"},
        {"room": "ok", "identity": ""},
        {"room": "ok", "identity": "x", "ttl_seconds": 10},
        {"room": "ok", "identity": "x", "ttl_seconds": 10**7},
        {"room": "ok", "identity": "x", "grants": {"room_list": True}},
    ):
        answer = mint(world, keys["a"], **body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    assert (
        world.client.post("/v1/tokens/create", json={"room": "ok", "identity": "x"}).status_code
        == 401
    )
