from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient
from redis import Redis

from pulse.api.app import create_app
from pulse.migrator import Migrator
from tests.conftest import MONGO_URI, REDIS_URL
from tests.management.conftest import management_settings
from tests.management.world import World, build_world


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """A tenant world (see tests/management/world.py) on its own database and prefix."""
    database = f"pulse_test_{uuid.uuid4().hex[:12]}"
    settings = management_settings(database)
    with MongoClient(MONGO_URI, serverSelectionTimeoutMS=5_000) as mongo:
        Migrator(mongo[database], settings).migrate()
        try:
            with TestClient(create_app(settings)) as client:
                yield build_world(client, settings)
        finally:
            mongo.drop_database(database)
            redis = Redis.from_url(REDIS_URL)
            for key in redis.scan_iter(match=f"{settings.redis_key_prefix}*"):
                redis.delete(key)
            redis.close()
