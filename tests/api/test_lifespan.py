from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi.testclient import TestClient
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from pulse.clients import Clients
from pulse.config import Settings
from tests.api.servers import free_port
from tests.api.support import build_app


def test_lifespan_opens_the_clients_on_app_state_and_closes_them(settings: Settings) -> None:
    app = build_app(settings)

    with TestClient(app):
        clients = app.state.clients
        assert isinstance(clients, Clients)
        assert isinstance(clients.mongo, AsyncMongoClient)
        assert isinstance(clients.redis, Redis)
        assert isinstance(clients.livekit_http, httpx.AsyncClient)
        assert str(clients.livekit_http.base_url).rstrip("/") == settings.livekit_url
        assert clients.database.name == settings.mongo_database
        assert app.state.settings is settings

    assert not hasattr(app.state, "clients")
    assert clients.livekit_http.is_closed


def test_the_app_starts_even_when_every_dependency_is_down(
    make_settings: Callable[..., Settings],
) -> None:
    dead = free_port()
    settings = make_settings(
        mongo_uri=f"mongodb://127.0.0.1:{dead}",
        redis_url=f"redis://127.0.0.1:{dead}/0",
        livekit_url=f"http://127.0.0.1:{dead}",
        readiness_timeout_seconds=0.5,
    )

    with TestClient(build_app(settings)) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")

    assert ready.status_code == 503
    assert ready.json()["detail"] == "Not ready: mongodb, redis and livekit are down."
