"""Against the real livekit-server, which runs here without any egress or ingress worker
(they need Chrome and GStreamer): the refusal reaches the caller as a problem naming
the recorded egress or ingress, which stays recorded as failed with LiveKit's reason."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from livekit.api import LiveKitAPI
from livekit.protocol import egress as eg

from pulse.domain.egress import Egress
from tests.conftest import LIVEKIT_URL
from tests.management.conftest import management_settings
from tests.management.world import World
from tests.media_egress.conftest import fresh_database, key, world_on


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with world_on(management_settings(fresh_database())) as built:
        yield built


def _livekit_egresses(room: str) -> list[eg.EgressInfo]:
    async def listed() -> list[eg.EgressInfo]:
        api = LiveKitAPI(LIVEKIT_URL, "devkey", "secret")
        try:
            found = await api.egress.list_egress(eg.ListEgressRequest(room_name=room))
            return list(found.items)
        except Exception:
            return []
        finally:
            await api.aclose()

    return asyncio.run(listed())


def test_no_egress_worker_is_a_503_and_a_failed_egress(world: World, keys: dict[str, str]) -> None:
    as_a = key(keys["a"])
    room = f"live-{uuid.uuid4().hex[:6]}"
    assert world.client.post("/v1/rooms", json={"name": room}, headers=as_a).status_code == 201
    answer = world.client.post(
        "/v1/media/egress/start",
        json={"room": room, "outputs": {"rtmp": {"urls": ["rtmp://live.example.com/app/k3y"]}}},
        headers=as_a,
    )
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    egress_id = problem["egress_id"]
    assert egress_id in problem["detail"]
    assert "k3y" not in answer.text

    shown = world.client.get(f"/v1/media/egress/{egress_id}", headers=as_a).json()
    assert shown["status"] == "failed"
    assert shown["error_code"] == "unavailable"
    assert "LiveKit cannot start the egress right now" in shown["error"]
    assert shown["livekit_egress_id"] is None
    assert shown["ended_at"] is not None

    # Nothing dangling: the egress's story is the request, its failure and its (empty)
    # usage (no LiveKit id, so no alias), LiveKit runs nothing for the room, and the
    # list agrees.
    egress = world.app.load(uuid.UUID(egress_id), Egress)
    assert egress.version == 3
    assert egress.metered
    assert egress.status == "failed"
    assert _livekit_egresses(f"{world.project_a.hex}_{room}") == []
    world.settle()
    listed = world.client.get("/v1/media/egress", params={"room": room}, headers=as_a).json()
    assert [(i["id"], i["status"]) for i in listed["items"]] == [(egress_id, "failed")]


def test_an_egress_of_a_room_livekit_does_not_have_is_a_409(
    world: World, keys: dict[str, str]
) -> None:
    answer = world.client.post(
        "/v1/media/egress/start",
        json={
            "room": f"none-{uuid.uuid4().hex[:6]}",
            "outputs": {"rtmp": {"urls": ["rtmp://live.example.com/app/k"]}},
        },
        headers=key(keys["a"]),
    )
    assert answer.status_code == 409, answer.text
    egress_id = answer.json()["egress_id"]
    shown = world.client.get(f"/v1/media/egress/{egress_id}", headers=key(keys["a"])).json()
    assert shown["status"] == "failed"
    assert shown["error_code"] == "not_found"


def test_no_ingress_service_is_a_503_and_a_failed_ingress(
    world: World, keys: dict[str, str]
) -> None:
    answer = world.client.post(
        "/v1/media/ingress/create",
        json={"room": "studio", "kind": "rtmp", "participant_identity": "obs"},
        headers=key(keys["a"]),
    )
    assert answer.status_code == 503, answer.text
    ingress_id = answer.json()["ingress_id"]
    shown = world.client.get(f"/v1/media/ingress/{ingress_id}", headers=key(keys["a"])).json()
    assert shown["status"] == "failed"
    assert "not connected" in shown["error"]
