"""Fixtures for the region and status tests: the real services, this test's Redis keys.

The routers are not wired into ``create_app`` by this part of the work; ``region_app``
adds them when the application does not have them yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pymongo import MongoClient
from redis import Redis

from pulse.api.app import create_app
from pulse.api.routes import regions, status
from pulse.config import Settings
from pulse.migrator import Migrator
from tests.conftest import LIVEKIT_URL, MONGO_URI, REDIS_URL
from tests.management.world import World, build_world


def region_app(settings: Settings) -> FastAPI:
    app = create_app(settings)
    paths = {getattr(route, "path", None) for route in app.routes}
    for module, path in ((regions, "/v1/regions"), (status, "/v1/status")):
        if path not in paths:
            app.include_router(module.router)
    return app


def forget_keys(prefix: str, redis_url: str = REDIS_URL) -> None:
    with Redis.from_url(redis_url) as redis:
        keys = list(redis.scan_iter(match=f"{prefix}*"))
        if keys:
            redis.delete(*keys)


@pytest.fixture
def region_settings(make_settings: Callable[..., Settings]) -> Iterator[Settings]:
    """This test's settings; its Redis keys are removed afterwards."""
    settings = make_settings(rate_limit_ip_requests=0)
    yield settings
    forget_keys(settings.redis_key_prefix)


@pytest.fixture
def client(region_settings: Settings) -> Iterator[TestClient]:
    with TestClient(region_app(region_settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """Two organizations with projects, over HTTP (module-wide: sign-ups are slow)."""
    database = f"pulse_test_{uuid.uuid4().hex[:12]}"
    settings = Settings(
        _env_file=None,
        environment="test",
        mongo_uri=MONGO_URI,
        mongo_database=database,
        redis_url=REDIS_URL,
        livekit_url=LIVEKIT_URL,
        redis_key_prefix=f"pulse:test:{database}:",
        worker_queue_name=f"pulse:test:{database}",
        rate_limit_ip_requests=0,
        log_level="WARNING",
    )
    with MongoClient(MONGO_URI, serverSelectionTimeoutMS=5_000) as mongo:
        Migrator(mongo[database], settings).migrate()
        try:
            with TestClient(region_app(settings)) as client:
                yield build_world(client, settings)
        finally:
            mongo.drop_database(database)
            forget_keys(settings.redis_key_prefix)
