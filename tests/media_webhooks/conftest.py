from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pymongo import MongoClient
from redis import Redis

from pulse.api.app import create_app
from pulse.api.routes import room_sessions
from pulse.config import Settings
from pulse.migrator import Migrator
from tests.conftest import MONGO_URI, REDIS_URL
from tests.management.conftest import management_settings
from tests.management.world import World, build_world


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
    database = f"pulse_test_{uuid.uuid4().hex[:12]}"
    settings = management_settings(database)
    mongo: MongoClient[dict[str, object]]
    with MongoClient(MONGO_URI, serverSelectionTimeoutMS=5_000) as mongo:
        Migrator(mongo[database], settings).migrate()
        try:
            with TestClient(pulse_app(settings)) as client:
                yield build_world(client, settings)
        finally:
            mongo.drop_database(database)
            redis = Redis.from_url(REDIS_URL)
            for key in redis.scan_iter(match=f"{settings.redis_key_prefix}*"):
                redis.delete(key)
            redis.close()


@pytest.fixture(scope="module")
def keys(world: World) -> dict[str, str]:
    """A key secret of project A and one of project B."""
    secrets = {
        "a": world.new_key_secret(world.project_a, "owner"),
        "b": world.new_key_secret(world.project_b, "outsider"),
    }
    world.settle()  # Made through the services: found through the read model.
    return secrets
