"""Egress lifecycles end to end: the API starts egresses on the Twirp double (standing in
for LiveKit's egress service, which cannot run here), LiveKit's signed webhooks move
them on, and GETs and lists show the result."""

from __future__ import annotations

import uuid
from typing import Any

from livekit.api import WebhookEvent
from livekit.protocol import egress as eg

from tests.management.world import World
from tests.media.twirp_double import LiveKitMediaDouble
from tests.media_egress.conftest import STORAGE, deliver, key, set_storage

RTMP_KEY = "live_1234_streamkey"


def start(world: World, secret: str, body: dict[str, Any]) -> Any:
    return world.client.post("/v1/media/egress/start", json=body, headers=key(secret))


def get(world: World, secret: str, egress_id: str) -> dict[str, Any]:
    answer = world.client.get(f"/v1/media/egress/{egress_id}", headers=key(secret))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def webhook(name: str, info: eg.EgressInfo) -> WebhookEvent:
    return WebhookEvent(event=name, egress_info=info)


def test_room_composite_to_hls_mp4_and_rtmp_until_the_recording_is_available(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble
) -> None:
    set_storage(world)
    room = f"show-{uuid.uuid4().hex[:6]}"
    answer = start(
        world,
        keys["a"],
        {
            "room": room,
            "layout": "grid",
            "outputs": {
                "file": {},
                "hls": {"segment_duration": 4},
                "rtmp": {"urls": [f"rtmp://live.example.com/app/{RTMP_KEY}"]},
            },
        },
    )
    assert answer.status_code == 201, answer.text
    assert STORAGE["secret_access_key"] not in answer.text
    assert RTMP_KEY not in answer.text
    created = answer.json()
    egress_id, livekit_id = created["id"], created["livekit_egress_id"]
    assert answer.headers["location"] == f"/v1/media/egress/{egress_id}"
    assert created["status"] == "active"
    assert livekit_id.startswith("EG_")
    prefix = f"recordings/{room}/{egress_id}"
    assert created["playback_url"] == f"https://cdn.example.com/{prefix}/playlist.m3u8"
    assert created["outputs"]["rtmp"]["urls"] == ["rtmp://live.example.com/app/***"]

    # What LiveKit was asked: the namespaced room, the layout, the opened secret.
    sent = double.calls[-1].request
    assert isinstance(sent, eg.RoomCompositeEgressRequest)
    assert sent.room_name == f"{world.project_a.hex}_{room}"
    assert sent.layout == "grid"
    assert sent.file_outputs[0].filepath == f"{prefix}/recording.mp4"
    assert sent.segment_outputs[0].playlist_name == f"{prefix}/playlist.m3u8"
    assert sent.segment_outputs[0].segment_duration == 4
    assert sent.segment_outputs[0].s3.secret == STORAGE["secret_access_key"]
    assert sent.segment_outputs[0].s3.bucket == "recordings"
    assert list(sent.stream_outputs[0].urls) == [f"rtmp://live.example.com/app/{RTMP_KEY}"]

    active = double.egress_info(livekit_id, eg.EgressStatus.EGRESS_ACTIVE, started_at=1)
    assert deliver(world, webhook("egress_started", active))["outcome"] == "recorded"
    assert get(world, keys["a"], livekit_id)["livekit_status"] == "EGRESS_ACTIVE"

    stopped = world.client.post(
        "/v1/media/egress/stop", json={"egress_id": egress_id}, headers=key(keys["a"])
    )
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "ending"

    complete = double.egress_info(
        livekit_id,
        eg.EgressStatus.EGRESS_COMPLETE,
        ended_at=2_000_000_000,
        file_results=[
            eg.FileInfo(filename=f"{prefix}/recording.mp4", size=1_234, duration=90_000_000_000)
        ],
        segment_results=[
            eg.SegmentsInfo(playlist_name=f"{prefix}/playlist.m3u8", segment_count=23)
        ],
    )
    ended = WebhookEvent(
        id=f"EV_{uuid.uuid4().hex[:10]}", event="egress_ended", egress_info=complete
    )
    assert deliver(world, ended)["outcome"] == "recorded"
    done = get(world, keys["a"], egress_id)
    assert done["status"] == "complete"
    assert done["recording_available"] is True
    assert done["results"]["files"][0]["url"] == f"https://cdn.example.com/{prefix}/recording.mp4"
    assert done["results"]["files"][0]["duration_seconds"] == 90.0
    assert done["results"]["playlists"][0]["segment_count"] == 23
    assert done["results"]["playlists"][0]["url"] == done["playback_url"]

    # A redelivery, and a late report of an earlier state, change nothing.
    # (The intake says "unchanged" rather than "duplicate" when the handler finds
    # nothing new, before it looks for the receipt.)
    assert deliver(world, ended)["outcome"] in ("duplicate", "unchanged")
    late = webhook("egress_updated", active)
    assert deliver(world, late)["outcome"] == "unchanged"
    assert get(world, keys["a"], egress_id) == done

    world.settle()
    listed = world.client.get(
        "/v1/media/egress", params={"room": room}, headers=key(keys["a"])
    ).json()
    assert listed["total"] == 1
    assert listed["items"][0] == done
    complete_ids = [
        item["id"]
        for item in world.client.get(
            "/v1/media/egress", params={"status": "complete", "limit": 100}, headers=key(keys["a"])
        ).json()["items"]
    ]
    assert egress_id in complete_ids


def test_a_track_egress_that_fails_records_livekits_reason(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble
) -> None:
    set_storage(world)
    room = f"track-{uuid.uuid4().hex[:6]}"
    answer = start(
        world,
        keys["a"],
        {"room": room, "kind": "track", "track_id": "TR_abc", "outputs": {"file": {}}},
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    sent = double.calls[-1].request
    assert isinstance(sent, eg.TrackEgressRequest)
    assert sent.track_id == "TR_abc"

    failed = double.egress_info(
        created["livekit_egress_id"], eg.EgressStatus.EGRESS_FAILED, error="upload failed: 403"
    )
    assert deliver(world, webhook("egress_ended", failed))["outcome"] == "recorded"
    shown = get(world, keys["a"], created["id"])
    assert shown["status"] == "failed"
    assert shown["error"] == "upload failed: 403"
    assert shown["recording_available"] is False

    refused = world.client.post(
        "/v1/media/egress/stop", json={"egress_id": created["id"]}, headers=key(keys["a"])
    )
    assert refused.status_code == 409
    world.settle()
    listed = world.client.get(
        "/v1/media/egress", params={"room": room}, headers=key(keys["a"])
    ).json()
    assert [(i["id"], i["status"]) for i in listed["items"]] == [(created["id"], "failed")]


def test_a_refused_start_is_a_503_naming_the_failed_egress(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble
) -> None:
    room = f"refused-{uuid.uuid4().hex[:6]}"
    started_before = len(double.egresses)
    double.refuse_next("unavailable", "no response from servers")
    answer = start(
        world,
        keys["a"],
        {
            "room": room,
            "kind": "track_composite",
            "audio_track_id": "TR_a",
            "outputs": {"rtmp": {"urls": ["rtmps://live.example.com/app/k3y"]}},
        },
    )
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    egress_id = problem["egress_id"]
    assert egress_id in problem["detail"]
    assert problem["egress"]["status"] == "failed"
    shown = get(world, keys["a"], egress_id)
    assert shown["status"] == "failed"
    assert shown["error_code"] == "unavailable"
    assert "no response from servers" in shown["error"]
    assert shown["livekit_egress_id"] is None
    assert len(double.egresses) == started_before
    world.settle()
    listed = world.client.get(
        "/v1/media/egress", params={"room": room}, headers=key(keys["a"])
    ).json()
    assert [i["status"] for i in listed["items"]] == ["failed"]


def test_a_retried_start_with_the_same_idempotency_key_starts_one_egress(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble
) -> None:
    body = {
        "room": f"retry-{uuid.uuid4().hex[:6]}",
        "outputs": {"rtmp": {"urls": ["rtmp://live.example.com/app/k"]}},
    }
    headers = {**key(keys["a"]), "Idempotency-Key": str(uuid.uuid4())}
    started = len(double.egresses)
    first = world.client.post("/v1/media/egress/start", json=body, headers=headers)
    again = world.client.post("/v1/media/egress/start", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    assert len(double.egresses) == started + 1
