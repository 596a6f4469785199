"""Worlds for the billing scenario: real LiveKit for real participants, the Twirp double
for LiveKit's egress service (its egress workers need Chrome and cannot run here).

Region eu-west points at the double, so egresses of projects there are started on
it; a project in us-east uses the real livekit-server on 127.0.0.1:7880, whose
webhooks reach Pulse on 127.0.0.1:8099 (``tests/media/pulse_server.py``). Both deployments sign with
devkey/secret, so the intake accepts webhooks signed by either.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.management.conftest import fresh_database, management_settings, world_on
from tests.management.world import World
from tests.media.twirp_double import API_KEY, API_SECRET, LiveKitMediaDouble, running_double


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
