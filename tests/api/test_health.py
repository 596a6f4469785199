from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from pulse.config import Settings
from tests.api.servers import ServerProcess, free_port
from tests.api.support import app_client


def test_health_is_ok(client: TestClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_every_dependency_up_with_latency(client: TestClient) -> None:
    response = client.get("/ready")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"mongodb", "redis", "livekit"}
    for check in body["checks"].values():
        assert check["status"] == "up"
        assert isinstance(check["latency_ms"], float)
        assert 0 <= check["latency_ms"] < 1000
        assert check["error"] is None


def test_ready_is_503_naming_redis_once_redis_stops(
    make_settings: Callable[..., Settings], private_redis: ServerProcess
) -> None:
    with app_client(make_settings(redis_url=private_redis.url)) as client:
        assert client.get("/ready").status_code == 200

        private_redis.stop()

        response = client.get("/ready")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 503
        assert problem["title"] == "Service Unavailable"
        assert "redis" in problem["detail"]
        assert "mongodb" not in problem["detail"]
        assert problem["checks"]["redis"]["status"] == "down"
        assert problem["checks"]["redis"]["error"]
        assert problem["checks"]["mongodb"]["status"] == "up"
        assert problem["checks"]["livekit"]["status"] == "up"
        assert client.get("/health").status_code == 200


def test_ready_is_503_naming_mongodb_once_ferretdb_stops(
    make_settings: Callable[..., Settings], private_ferretdb: ServerProcess
) -> None:
    with app_client(make_settings(mongo_uri=private_ferretdb.url)) as client:
        assert client.get("/ready").status_code == 200

        private_ferretdb.stop()

        response = client.get("/ready")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert "mongodb" in problem["detail"]
        assert "redis" not in problem["detail"]
        assert problem["checks"]["mongodb"]["status"] == "down"
        assert problem["checks"]["redis"]["status"] == "up"
        # The probe is bounded by the readiness timeout (1 s in tests), plus slack.
        assert problem["checks"]["mongodb"]["latency_ms"] < 3000
        assert client.get("/health").status_code == 200


def test_ready_names_every_down_service(make_settings: Callable[..., Settings]) -> None:
    dead = free_port()
    settings = make_settings(
        redis_url=f"redis://127.0.0.1:{dead}/0", livekit_url=f"http://127.0.0.1:{dead}"
    )
    with app_client(settings) as client:
        response = client.get("/ready")

    assert response.status_code == 503
    problem = response.json()
    assert problem["detail"] == "Not ready: redis and livekit are down."
    assert problem["checks"]["mongodb"]["status"] == "up"
