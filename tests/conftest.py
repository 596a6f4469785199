"""Fixtures shared by the API, worker, CLI and migration tests.

Every test gets its own database (``pulse_test_<random>``), dropped afterwards, on
the real services; PULSE_MONGO_URI / PULSE_REDIS_URL / PULSE_LIVEKIT_URL point
elsewhere if the services do not run on the default loopback ports.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pymongo import MongoClient

from pulse.config import Settings, get_settings

MONGO_URI = os.environ.get("PULSE_MONGO_URI", "mongodb://127.0.0.1:27017")
REDIS_URL = os.environ.get("PULSE_REDIS_URL", "redis://127.0.0.1:6379/0")
LIVEKIT_URL = os.environ.get("PULSE_LIVEKIT_URL", "http://127.0.0.1:7880")

SettingsFactory = Callable[..., Settings]


@pytest.fixture
def database_name() -> Iterator[str]:
    name = f"pulse_test_{uuid.uuid4().hex[:12]}"
    yield name
    with MongoClient(MONGO_URI, serverSelectionTimeoutMS=5_000) as client:
        client.drop_database(name)


@pytest.fixture
def make_settings(database_name: str) -> SettingsFactory:
    """Settings for this test's database and queue; keyword arguments override."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": "test",
            "mongo_uri": MONGO_URI,
            "mongo_database": database_name,
            "redis_url": REDIS_URL,
            "livekit_url": LIVEKIT_URL,
            "worker_queue_name": f"pulse:test:{database_name}",
            # Rate-limit buckets and idempotency keys per test, never shared between runs.
            "redis_key_prefix": f"pulse:test:{database_name}:",
            "readiness_timeout_seconds": 1.0,
            "log_format": "json",
            "log_level": "INFO",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings()


@pytest.fixture
def pulse_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[dict[str, str]]:
    """The environment a ``pulse`` command needs to act on this test's database.

    Also sets it in os.environ (and resets the settings cache) for in-process runs.
    """
    env = {
        "PULSE_ENVIRONMENT": "test",
        "PULSE_MONGO_URI": settings.mongo_uri,
        "PULSE_MONGO_DATABASE": settings.mongo_database,
        "PULSE_REDIS_URL": settings.redis_url,
        "PULSE_LIVEKIT_URL": settings.livekit_url,
        "PULSE_WORKER_QUEUE_NAME": settings.worker_queue_name,
        "PULSE_LOG_FORMAT": "json",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()
