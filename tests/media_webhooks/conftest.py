from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from pulse.api.app import create_app
from pulse.api.routes import room_sessions
from pulse.config import Settings
from tests.management.conftest import world_on
from tests.management.world import World


def pulse_app(settings: Settings) -> FastAPI:
    """The API, with the room history routes even before ``create_app`` includes them."""
    app = create_app(settings)
    paths = {getattr(route, "path", None) for route in app.routes}
    if "/v1/rooms/{room}/sessions" not in paths:
        app.include_router(room_sessions.router)
    return app


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """A tenant world (see tests/management/world.py) on its own database and prefix."""
    with world_on() as built:
        yield built


@pytest.fixture(scope="module")
def keys(world: World) -> dict[str, str]:
    """A key secret of project A and one of project B."""
    secrets = {
        "a": world.new_key_secret(world.project_a, "owner"),
        "b": world.new_key_secret(world.project_b, "outsider"),
    }
    world.settle()  # Made through the services: found through the read model.
    return secrets
