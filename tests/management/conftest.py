from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

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
        # Stripe's official mock (scripts/services.sh): the billing routes' Stripe calls.
        "stripe_api_key": "sk_test_123",
        "stripe_api_base": "http://127.0.0.1:12111",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def forget_keys(prefix: str, redis_url: str = REDIS_URL) -> None:
    """Remove every Redis key under ``prefix``."""
    with Redis.from_url(redis_url) as redis:
        keys = list(redis.scan_iter(match=f"{prefix}*"))
        if keys:
            redis.delete(*keys)


def fresh_database() -> str:
    return f"pulse_test_{uuid.uuid4().hex[:12]}"


@contextmanager
def world_on(settings: Settings | None = None) -> Iterator[World]:
    """A tenant world (see world.py) served by the API on its own database and Redis key
    prefix (``management_settings`` on a fresh database unless ``settings`` are given),
    both removed afterwards."""
    if settings is None:
        settings = management_settings(fresh_database())
    mongo: MongoClient[dict[str, object]]
    with MongoClient(MONGO_URI, serverSelectionTimeoutMS=5_000) as mongo:
        Migrator(mongo[settings.mongo_database], settings).migrate()
        try:
            with TestClient(create_app(settings)) as client:
                yield build_world(client, settings)
        finally:
            mongo.drop_database(settings.mongo_database)
            forget_keys(settings.redis_key_prefix)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One world per test module: building it signs five users up (argon2 is slow)."""
    with world_on() as built:
        yield built
