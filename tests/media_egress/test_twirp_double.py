"""The Twirp double speaks LiveKit's protocol: protobuf or JSON bodies, Twirp errors,
LiveKit's grants. (It stands in for LiveKit's egress and ingress services, which
need Chrome and GStreamer and cannot run here.)"""

from __future__ import annotations

import httpx
from google.protobuf import json_format
from livekit.api import AccessToken, VideoGrants
from livekit.protocol import egress as eg

from tests.media.twirp_double import API_KEY, API_SECRET, LiveKitMediaDouble

PATH = "/twirp/livekit.Egress/StartRoomCompositeEgress"


def token(grants: VideoGrants) -> str:
    return AccessToken(API_KEY, API_SECRET).with_grants(grants).to_jwt()


def test_json_bodies_grants_and_twirp_errors(double: LiveKitMediaDouble) -> None:
    request = eg.RoomCompositeEgressRequest(room_name="p_room", layout="grid")
    recording = {"Authorization": f"Bearer {token(VideoGrants(room_record=True))}"}
    answer = httpx.post(
        double.url + PATH,
        content=json_format.MessageToJson(request),
        headers={**recording, "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    info = json_format.Parse(answer.text, eg.EgressInfo())
    assert info.egress_id.startswith("EG_")
    assert info.room_composite.layout == "grid"

    lacking = {"Authorization": f"Bearer {token(VideoGrants(room_list=True))}"}
    denied = httpx.post(
        double.url + PATH,
        content=request.SerializeToString(),
        headers={**lacking, "Content-Type": "application/protobuf"},
    )
    assert denied.status_code == 403
    assert denied.json()["code"] == "permission_denied"

    unknown = httpx.post(double.url + "/twirp/livekit.Egress/Nope", content=b"", headers=recording)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "bad_route")
    assert httpx.post(double.url + PATH, content=b"").json()["code"] == "unauthenticated"
