"""Fixtures for the region and status tests: the real services, this test's Redis keys.

The routers are not wired into ``create_app`` by this part of the work; ``region_app``
adds them when the application does not have them yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pulse.api.app import create_app
from pulse.api.routes import regions, status
from pulse.config import Settings
from tests.management.conftest import forget_keys, world_on
from tests.management.world import World


def region_app(settings: Settings) -> FastAPI:
    app = create_app(settings)
    paths = {getattr(route, "path", None) for route in app.routes}
    for module, path in ((regions, "/v1/regions"), (status, "/v1/status")):
        if path not in paths:
            app.include_router(module.router)
    return app


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
    with world_on() as built:
        yield built
