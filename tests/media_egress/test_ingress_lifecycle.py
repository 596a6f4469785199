"""Ingress lifecycles end to end, on the Twirp double (LiveKit's ingress service cannot
run here): create, publishing and ended by LiveKit's signed webhooks, delete."""

from __future__ import annotations

import uuid
from typing import Any

from livekit.api import WebhookEvent
from livekit.protocol import ingress as ig

from tests.management.world import World
from tests.media.twirp_double import LiveKitMediaDouble
from tests.media_egress.conftest import deliver, key


def create(world: World, secret: str, body: dict[str, Any]) -> Any:
    return world.client.post("/v1/media/ingress/create", json=body, headers=key(secret))


def get(world: World, secret: str, ingress_id: str) -> dict[str, Any]:
    answer = world.client.get(f"/v1/media/ingress/{ingress_id}", headers=key(secret))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_rtmp_ingress_created_published_ended_and_deleted(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble
) -> None:
    room = f"stage-{uuid.uuid4().hex[:6]}"
    answer = create(
        world,
        keys["a"],
        {"room": room, "kind": "rtmp", "participant_identity": "obs", "name": "OBS"},
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    ingress_id, livekit_id = created["id"], created["livekit_ingress_id"]
    stream_key = created["stream_key"]
    assert stream_key
    assert created["status"] == "inactive"
    assert created["url"].startswith("rtmp://")
    assert created["reusable"] is True
    sent = double.calls[-1].request
    assert isinstance(sent, ig.CreateIngressRequest)
    assert sent.room_name == f"{world.project_a.hex}_{room}"
    assert sent.input_type == ig.IngressInput.RTMP_INPUT

    shown = get(world, keys["a"], ingress_id)
    assert "stream_key" not in shown
    assert stream_key not in str(shown)

    publishing = double.ingress_info(
        livekit_id, ig.IngressState.Status.ENDPOINT_PUBLISHING, started_at=1_700_000_000_000_000_000
    )
    started = WebhookEvent(
        id=f"EV_{uuid.uuid4().hex[:10]}", event="ingress_started", ingress_info=publishing
    )
    assert deliver(world, started)["outcome"] == "recorded"
    assert get(world, keys["a"], livekit_id)["status"] == "publishing"

    inactive = double.ingress_info(
        livekit_id,
        ig.IngressState.Status.ENDPOINT_INACTIVE,
        started_at=1_700_000_000_000_000_000,
        ended_at=1_700_000_060_000_000_000,
    )
    ended = WebhookEvent(
        id=f"EV_{uuid.uuid4().hex[:10]}", event="ingress_ended", ingress_info=inactive
    )
    assert deliver(world, ended)["outcome"] == "recorded"
    after = get(world, keys["a"], ingress_id)
    assert after["status"] == "inactive"
    assert after["ended_at"] is not None

    # Redelivered, or the older "started" arriving late: nothing changes.
    assert deliver(world, ended)["outcome"] in ("duplicate", "unchanged")
    assert deliver(world, started)["outcome"] in ("duplicate", "unchanged")
    assert get(world, keys["a"], ingress_id) == after

    world.settle()
    listed = world.client.get(
        "/v1/media/ingress", params={"room": room}, headers=key(keys["a"])
    ).json()
    assert listed["total"] == 1
    assert listed["items"][0] == after

    assert (
        world.client.delete(f"/v1/media/ingress/{ingress_id}", headers=key(keys["a"])).status_code
        == 204
    )
    assert livekit_id not in double.ingresses
    assert (
        world.client.get(f"/v1/media/ingress/{ingress_id}", headers=key(keys["a"])).status_code
        == 404
    )
    assert (
        world.client.delete(f"/v1/media/ingress/{ingress_id}", headers=key(keys["a"])).status_code
        == 404
    )
    world.settle()
    listed = world.client.get(
        "/v1/media/ingress", params={"room": room}, headers=key(keys["a"])
    ).json()
    assert listed == {"items": [], "total": 0, "next_cursor": None}


def test_url_ingress_records_the_source_without_its_secrets(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble
) -> None:
    room = f"relay-{uuid.uuid4().hex[:6]}"
    source = "https://user:pw@media.example.com/live/index.m3u8?token=s3cr3t"
    answer = create(
        world,
        keys["a"],
        {"room": room, "kind": "url", "participant_identity": "relay", "url": source},
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["source_url"] == "https://media.example.com/live/index.m3u8"
    assert created["reusable"] is False
    sent = double.calls[-1].request
    assert isinstance(sent, ig.CreateIngressRequest)
    assert sent.url == source  # LiveKit needs the whole URL; Pulse records it redacted.

    complete = double.ingress_info(
        created["livekit_ingress_id"], ig.IngressState.Status.ENDPOINT_COMPLETE
    )
    assert (
        deliver(world, WebhookEvent(event="ingress_ended", ingress_info=complete))["outcome"]
        == "recorded"
    )
    assert get(world, keys["a"], created["id"])["status"] == "complete"


def test_a_refused_creation_is_a_problem_naming_the_failed_ingress(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble
) -> None:
    double.refuse_next("internal", "ingress not connected (redis required)")
    answer = create(
        world,
        keys["a"],
        {"room": f"r-{uuid.uuid4().hex[:6]}", "kind": "whip", "participant_identity": "cam"},
    )
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    ingress_id = answer.json()["ingress_id"]
    shown = get(world, keys["a"], ingress_id)
    assert shown["status"] == "failed"
    assert shown["error_code"] == "internal"
    assert "not connected" in shown["error"]
    # A failed ingress exists on Pulse only; deleting it does not ask LiveKit.
    calls = len(double.calls)
    assert (
        world.client.delete(f"/v1/media/ingress/{ingress_id}", headers=key(keys["a"])).status_code
        == 204
    )
    assert len(double.calls) == calls
