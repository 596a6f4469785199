"""Bad input is a 422 problem, never a 500, and leaves nothing behind: no egress or
ingress recorded, no call to LiveKit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.management.world import World
from tests.media.twirp_double import LiveKitMediaDouble
from tests.media_egress.conftest import key

RTMP = {"rtmp": {"urls": ["rtmp://live.example.com/app/key"]}}

BAD_STARTS: list[dict[str, Any]] = [
    {"room": "r1"},  # no outputs
    {"room": "r1", "outputs": {}},  # no output in them
    {"room": "../etc", "outputs": RTMP},
    {"room": "r1", "outputs": RTMP, "surprise": True},
    {"room": "r1", "outputs": {"rtmp": {"urls": ["http://example.com/x"]}}},
    {"room": "r1", "outputs": {"rtmp": {"urls": []}}},
    {"room": "r1", "outputs": {"hls": {"segment_duration": 0}}},
    {"room": "r1", "outputs": {"file": {"format": "avi"}}},
    {"room": "r1", "layout": "mosaic", "outputs": RTMP},
    {"room": "r1", "kind": "track", "outputs": {"file": {}}},  # no track_id
    {"room": "r1", "kind": "track", "track_id": "TR_1", "outputs": RTMP},  # file only
    {"room": "r1", "kind": "track_composite", "outputs": RTMP},  # no track ids
    {
        "room": "r1",
        "kind": "track_composite",
        "audio_track_id": "TR_1",
        "layout": "grid",
        "outputs": RTMP,
    },
    {"room": "r1", "track_id": "TR_1", "outputs": RTMP},  # room composite with a track
    {"room": "r1", "outputs": {"file": {}}},  # project B has no storage
]

BAD_INGRESSES: list[dict[str, Any]] = [
    {"room": "r1", "kind": "url", "participant_identity": "x"},  # no url
    {"room": "r1", "kind": "rtmp", "participant_identity": "x", "url": "https://a.example/x"},
    {"room": "r1", "kind": "srt", "participant_identity": "x"},
    {"room": "r1", "kind": "rtmp"},
    {"room": "r1", "kind": "url", "participant_identity": "x", "url": "file:///etc/passwd"},
    {"room": "", "kind": "rtmp", "participant_identity": "x"},
]


def _problem(answer: Any) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("body", BAD_STARTS)
def test_bad_egress_starts_are_refused_before_anything_is_written(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble, body: dict[str, Any]
) -> None:
    calls = len(double.calls)
    _problem(world.client.post("/v1/media/egress/start", json=body, headers=key(keys["b"])))
    assert len(double.calls) == calls
    world.settle()
    listed = world.client.get("/v1/media/egress", params={"room": "r1"}, headers=key(keys["b"]))
    assert listed.json()["total"] == 0


@pytest.mark.parametrize("body", BAD_INGRESSES)
def test_bad_ingresses_are_refused_before_anything_is_written(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble, body: dict[str, Any]
) -> None:
    calls = len(double.calls)
    _problem(world.client.post("/v1/media/ingress/create", json=body, headers=key(keys["b"])))
    assert len(double.calls) == calls
    world.settle()
    listed = world.client.get("/v1/media/ingress", params={"room": "r1"}, headers=key(keys["b"]))
    assert listed.json()["total"] == 0


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/media/egress", {"status": "bogus"}),
        ("/v1/media/egress", {"kind": "web"}),
        ("/v1/media/egress", {"limit": 0}),
        ("/v1/media/egress", {"cursor": "not-a-cursor"}),
        ("/v1/media/ingress", {"status": "bogus"}),
        ("/v1/media/ingress", {"limit": 101}),
        ("/v1/media/ingress", {"room": "x" * 101}),
    ],
)
def test_bad_list_filters_are_422(
    world: World, keys: dict[str, str], path: str, params: dict[str, Any]
) -> None:
    _problem(world.client.get(path, params=params, headers=key(keys["b"])))


def test_bad_stops_and_unknown_ids(world: World, keys: dict[str, str]) -> None:
    as_b = key(keys["b"])
    _problem(world.client.post("/v1/media/egress/stop", json={"egress_id": ""}, headers=as_b))
    _problem(world.client.post("/v1/media/egress/stop", json={}, headers=as_b))
    for reference in ("nope", "EG_unknown", "0" * 200, "00000000-0000-0000-0000-000000000000"):
        assert world.client.get(f"/v1/media/egress/{reference}", headers=as_b).status_code == 404
        stop = world.client.post(
            "/v1/media/egress/stop", json={"egress_id": reference[:64]}, headers=as_b
        )
        assert stop.status_code == 404, stop.text
        assert world.client.get(f"/v1/media/ingress/{reference}", headers=as_b).status_code == 404
        assert (
            world.client.delete(f"/v1/media/ingress/{reference}", headers=as_b).status_code == 404
        )
