"""The egress and ingress read models are a pure function of the events: a rebuild
reproduces them document for document."""

from __future__ import annotations

import uuid
from typing import Any

from livekit.api import WebhookEvent
from livekit.protocol import egress as eg

from pulse.projections import media_egress, media_ingress
from pulse.projections.runner import rebuild
from pulse.projections.store import read_model_database
from tests.management.world import World
from tests.media.twirp_double import LiveKitMediaDouble
from tests.media_egress.conftest import deliver, key


def _documents(world: World, collection: str) -> list[dict[str, Any]]:
    database = read_model_database(world.app)
    return list(database[collection].find({}).sort("_id", 1))


def test_a_rebuild_reproduces_the_egress_and_ingress_documents(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble
) -> None:
    as_a = key(keys["a"])
    room = f"rebuild-{uuid.uuid4().hex[:6]}"
    started = world.client.post(
        "/v1/media/egress/start",
        json={"room": room, "outputs": {"rtmp": {"urls": ["rtmp://x.example.com/a/k"]}}},
        headers=as_a,
    ).json()
    ended = double.egress_info(started["livekit_egress_id"], eg.EgressStatus.EGRESS_COMPLETE)
    deliver(world, WebhookEvent(event="egress_ended", egress_info=ended))
    created = world.client.post(
        "/v1/media/ingress/create",
        json={"room": room, "kind": "whip", "participant_identity": "cam"},
        headers=as_a,
    ).json()
    world.client.delete(f"/v1/media/ingress/{created['id']}", headers=as_a)
    world.settle()

    collections = (media_egress.EGRESSES, media_ingress.INGRESSES)
    before = {name: _documents(world, name) for name in collections}
    assert all(before.values())
    database = read_model_database(world.app)
    for projection in (media_egress.PROJECTION, media_ingress.PROJECTION):
        assert rebuild(projection, world.app, database, world.settings).applied > 0
    assert {name: _documents(world, name) for name in collections} == before
    deleted = next(d for d in before[media_ingress.INGRESSES] if d["_id"] == created["id"])
    assert deleted["deleted"] is True
