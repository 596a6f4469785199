"""A project's rooms on the real livekit-server, managed with the project's key."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.management.world import World
from tests.media_api.participants import joined, publish_tone, wait_for


def key(secret: str) -> dict[str, str]:
    return {"X-Pulse-Key": secret}


@pytest.fixture(scope="module")
def keys(world: World) -> dict[str, str]:
    secrets = {
        "a": world.new_key_secret(world.project_a, "owner"),
        "b": world.new_key_secret(world.project_b, "outsider"),
    }
    world.settle()
    return secrets


def token(world: World, secret: str, room: str, identity: str) -> dict[str, Any]:
    answer = world.client.post(
        "/v1/tokens/create", json={"room": room, "identity": identity}, headers=key(secret)
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_create_read_list_and_close_a_room(world: World, keys: dict[str, str]) -> None:
    room = f"board-{uuid.uuid4().hex[:6]}"
    created = world.client.post(
        "/v1/rooms",
        json={"name": room, "max_participants": 5, "metadata": "quarterly"},
        headers=key(keys["a"]),
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/v1/rooms/{room}"
    assert created.json()["max_participants"] == 5

    got = world.client.get(f"/v1/rooms/{room}", headers=key(keys["a"])).json()
    assert got["metadata"] == "quarterly"
    assert room in [r["name"] for r in world.client.get("/v1/rooms", headers=key(keys["a"])).json()]

    assert world.client.delete(f"/v1/rooms/{room}", headers=key(keys["a"])).status_code == 204
    assert world.client.get(f"/v1/rooms/{room}", headers=key(keys["a"])).status_code == 404


def test_another_projects_rooms_are_out_of_reach(world: World, keys: dict[str, str]) -> None:
    room = f"secret-{uuid.uuid4().hex[:6]}"
    assert (
        world.client.post("/v1/rooms", json={"name": room}, headers=key(keys["b"])).status_code
        == 201
    )
    theirs = token(world, keys["b"], room, "bob")

    async def probe() -> None:
        async with joined(theirs["url"], theirs["token"]):
            as_a = key(keys["a"])
            assert room not in [
                r["name"] for r in world.client.get("/v1/rooms", headers=as_a).json()
            ]
            for method, path in (
                ("GET", f"/v1/rooms/{room}"),
                ("GET", f"/v1/rooms/{room}/participants"),
                ("DELETE", f"/v1/rooms/{room}"),
            ):
                answer = world.client.request(method, path, headers=as_a)
                assert answer.status_code == 404, (method, path, answer.text)
            # Removing "bob" from A's room of that name leaves B's bob connected.
            world.client.delete(f"/v1/rooms/{room}/participants/bob", headers=as_a)
            people = world.client.get(
                f"/v1/rooms/{room}/participants", headers=key(keys["b"])
            ).json()
            assert [p["identity"] for p in people] == ["bob"]

    asyncio.run(probe())


def test_remove_and_mute_a_real_participant(world: World, keys: dict[str, str]) -> None:
    room = f"class-{uuid.uuid4().hex[:6]}"
    issued = token(world, keys["a"], room, "student")

    async def scenario() -> None:
        async with joined(issued["url"], issued["token"]) as connected:
            publication = await publish_tone(connected, 0.2)
            muted = world.client.post(
                f"/v1/rooms/{room}/participants/student/mute",
                json={"track_sid": publication.sid},
                headers=key(keys["a"]),
            )
            assert muted.status_code == 200, muted.text
            assert muted.json()["muted"] is True

            removed = world.client.delete(
                f"/v1/rooms/{room}/participants/student", headers=key(keys["a"])
            )
            assert removed.status_code == 204, removed.text
            await wait_for(lambda: connected.connection_state != 1)  # 1: connected.

    asyncio.run(scenario())


def test_a_ban_refuses_tokens_and_drops_the_current_connection(
    world: World, keys: dict[str, str]
) -> None:
    room = f"chat-{uuid.uuid4().hex[:6]}"
    issued = token(world, keys["a"], room, "troll")

    async def scenario() -> None:
        async with joined(issued["url"], issued["token"]) as connected:
            banned = world.client.post(
                f"/v1/rooms/{room}/bans",
                json={"identity": "troll", "duration_seconds": 600, "reason": "spam"},
                headers=key(keys["a"]),
            )
            assert banned.status_code == 201, banned.text
            await wait_for(lambda: connected.connection_state != 1)

    asyncio.run(scenario())

    refused = world.client.post(
        "/v1/tokens/create", json={"room": room, "identity": "troll"}, headers=key(keys["a"])
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "banned" in refused.json()["detail"]
    # Other identities, and the same identity in other rooms, are not affected.
    assert (
        world.client.post(
            "/v1/tokens/create", json={"room": room, "identity": "nice"}, headers=key(keys["a"])
        ).status_code
        == 201
    )
    assert (
        world.client.post(
            "/v1/tokens/create",
            json={"room": "elsewhere", "identity": "troll"},
            headers=key(keys["a"]),
        ).status_code
        == 201
    )

    bans = world.client.get(f"/v1/rooms/{room}/bans", headers=key(keys["a"])).json()
    assert [b["identity"] for b in bans] == ["troll"]
    assert (
        world.client.delete(f"/v1/rooms/{room}/bans/troll", headers=key(keys["a"])).status_code
        == 204
    )
    assert (
        world.client.post(
            "/v1/tokens/create", json={"room": room, "identity": "troll"}, headers=key(keys["a"])
        ).status_code
        == 201
    )
