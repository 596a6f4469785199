from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pulse.config import Settings
from tests.api.servers import ServerProcess, start_ferretdb, start_redis
from tests.api.support import app_client, build_app


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[ServerProcess]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = start_redis(directory)
    yield server
    server.stop()


@pytest.fixture
def private_ferretdb(tmp_path: Path) -> Iterator[ServerProcess]:
    directory = tmp_path / "ferretdb"
    directory.mkdir()
    server = start_ferretdb(directory)
    yield server
    server.stop()


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """The real application plus test-only routes for the error paths."""
    return build_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with app_client(app) as test_client:
        yield test_client
