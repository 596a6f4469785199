from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient
from redis import Redis

from pulse.api.app import create_app
from pulse.config import Settings
from pulse.migrator import Migrator
from tests.conftest import LIVEKIT_URL, MONGO_URI, REDIS_URL
from tests.management.world import World, build_world


def management_settings(database: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "mongo_uri": MONGO_URI,
        "mongo_database": database,
        "redis_url": REDIS_URL,
        "livekit_url": LIVEKIT_URL,
        "redis_key_prefix": f"pulse:test:{database}:",
        "worker_queue_name": f"pulse:test:{database}",
        # These tests make hundreds of requests from one client address.
        "rate_limit_ip_requests": 0,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One world per test module: building it signs five users up (argon2 is slow)."""
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
