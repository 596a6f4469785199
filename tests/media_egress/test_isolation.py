"""A project's key reaches its own egresses and ingresses only: another project's are
"not found" (404), by Pulse's id and by LiveKit's, and absent from lists."""

from __future__ import annotations

import uuid

from tests.management.world import World
from tests.media.twirp_double import LiveKitMediaDouble
from tests.media_egress.conftest import key


def test_project_a_cannot_reach_project_bs_egresses_and_ingresses(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble
) -> None:
    as_a, as_b = key(keys["a"]), key(keys["b"])
    room = f"private-{uuid.uuid4().hex[:6]}"
    egress = world.client.post(
        "/v1/media/egress/start",
        json={"room": room, "outputs": {"rtmp": {"urls": ["rtmp://b.example.com/app/k"]}}},
        headers=as_b,
    )
    assert egress.status_code == 201, egress.text
    ingress = world.client.post(
        "/v1/media/ingress/create",
        json={"room": room, "kind": "rtmp", "participant_identity": "bob"},
        headers=as_b,
    )
    assert ingress.status_code == 201, ingress.text
    egress_ids = (egress.json()["id"], egress.json()["livekit_egress_id"])
    ingress_ids = (ingress.json()["id"], ingress.json()["livekit_ingress_id"])

    for reference in egress_ids:
        got = world.client.get(f"/v1/media/egress/{reference}", headers=as_a)
        assert got.status_code == 404, got.text
        stopped = world.client.post(
            "/v1/media/egress/stop", json={"egress_id": reference}, headers=as_a
        )
        assert stopped.status_code == 404, stopped.text
    for reference in ingress_ids:
        for method in ("GET", "DELETE"):
            answer = world.client.request(method, f"/v1/media/ingress/{reference}", headers=as_a)
            assert answer.status_code == 404, (method, answer.text)

    world.settle()
    for path in ("/v1/media/egress", "/v1/media/ingress"):
        mine = world.client.get(path, params={"room": room, "limit": 100}, headers=as_a).json()
        assert mine["items"] == []
        assert mine["total"] == 0
        theirs = world.client.get(path, params={"room": room}, headers=as_b).json()
        assert theirs["total"] == 1

    # B's are untouched, on Pulse and on LiveKit.
    assert (
        world.client.get(f"/v1/media/egress/{egress_ids[0]}", headers=as_b).json()["status"]
        == "active"
    )
    assert ingress_ids[1] in double.ingresses
    assert world.client.get(f"/v1/media/ingress/{ingress_ids[0]}", headers=as_b).status_code == 200


def test_without_a_project_key_nothing_is_reachable(world: World) -> None:
    for method, path in (
        ("GET", "/v1/media/egress"),
        ("POST", "/v1/media/egress/start"),
        ("GET", "/v1/media/ingress"),
        ("POST", "/v1/media/ingress/create"),
    ):
        answer = world.client.request(method, path, json={})
        assert answer.status_code == 401, (method, path)
        bearer = world.client.request(method, path, json={}, headers=world.headers("owner"))
        assert bearer.status_code == 401, (method, path, bearer.text)
