"""Worlds for the egress and ingress tests.

``world`` points region eu-west (where the world's projects live) at the Twirp
double (``tests/media/twirp_double.py``): LiveKit's egress and ingress workers need
Chrome and GStreamer and cannot run here, so the double stands in for LiveKit's
egress and ingress services, speaking the same protocol. ``test_real_livekit.py``
overrides ``world`` with one on the real livekit-server, which has no egress worker.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from livekit.api import WebhookEvent

from tests.management.conftest import fresh_database, management_settings, world_on
from tests.management.world import World
from tests.media.livekit_signing import signed_webhook
from tests.media.twirp_double import API_KEY, API_SECRET, LiveKitMediaDouble, running_double

STORAGE = {
    "provider": "r2",
    "bucket": "recordings",
    "endpoint": "https://account.r2.cloudflarestorage.com",
    "access_key_id": "AKIDEXAMPLE",
    "secret_access_key": "r2-secret-do-not-leak",
    "public_base_url": "https://cdn.example.com",
}


@pytest.fixture(scope="module")
def double() -> Iterator[LiveKitMediaDouble]:
    with running_double() as running:
        yield running


@pytest.fixture(scope="module")
def world(double: LiveKitMediaDouble) -> Iterator[World]:
    endpoint = {"url": double.url, "api_key": API_KEY, "api_secret": API_SECRET}
    settings = management_settings(fresh_database(), livekit_regions={"eu-west": endpoint})
    with world_on(settings) as built:
        yield built


@pytest.fixture(scope="module")
def keys(world: World) -> dict[str, str]:
    """Project keys of project A (organization A) and project B (the outsider's)."""
    secrets = {
        "a": world.new_key_secret(world.project_a, "owner"),
        "b": world.new_key_secret(world.project_b, "outsider"),
    }
    world.settle()
    return secrets


def key(secret: str) -> dict[str, str]:
    return {"X-Pulse-Key": secret}


def set_storage(world: World, project: str = "a") -> None:
    project_id, who = (
        (world.project_a, "owner") if project == "a" else (world.project_b, "outsider")
    )
    answer = world.client.put(
        f"/v1/projects/{project_id}", json={"storage": STORAGE}, headers=world.headers(who)
    )
    assert answer.status_code == 200, answer.text


def deliver(world: World, event: WebhookEvent) -> dict[str, Any]:
    """POST ``event`` to the intake exactly as livekit-server would, signed."""
    if not event.created_at:
        event.created_at = int(time.time())
    body, headers = signed_webhook(event)
    answer = world.client.post("/v1/webhooks/livekit", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result
