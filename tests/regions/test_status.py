"""The status routes: dependencies, region availability, one project's health."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from pulse.api import readiness
from pulse.config import Settings
from tests.api.servers import ServerProcess, start_ferretdb, start_redis
from tests.conftest import MONGO_URI
from tests.management.world import World
from tests.regions.conftest import region_app
from tests.regions.support import all_regions, record


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[ServerProcess]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = start_redis(directory)
    yield server
    server.stop()


def test_status_with_every_service_up(client: TestClient) -> None:
    response = client.get("/v1/status")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"mongodb", "redis", "livekit"}
    for check in body["checks"].values():
        assert check["status"] == "up"
        assert 0 <= check["latency_ms"] < 1000
    assert body["uptime_seconds"] >= 0
    assert body["started_at"]
    assert body["active_projects"] == 0  # A fresh database.


def test_status_reports_redis_down_once_redis_stops(
    make_settings: Callable[..., Settings], private_redis: ServerProcess
) -> None:
    settings = make_settings(redis_url=private_redis.url, rate_limit_ip_requests=0)
    with TestClient(region_app(settings)) as client:
        assert client.get("/v1/status").json()["checks"]["redis"]["status"] == "up"

        private_redis.stop()

        response = client.get("/v1/status")
        assert response.status_code == 200  # The process answers; the body says what is down.
        body = response.json()
        assert body["status"] == "degraded"
        assert body["checks"]["redis"]["status"] == "down"
        assert body["checks"]["redis"]["error"]
        assert "127.0.0.1" not in response.text  # Public: no addresses.
        assert body["checks"]["mongodb"]["status"] == "up"
        assert body["checks"]["livekit"]["status"] == "up"
        assert body["active_projects"] == 0
        # Region health lives in Redis: without it, unknown rather than an error.
        regions = client.get("/v1/status/regions")
        assert regions.status_code == 200
        assert regions.json()["status"] == "unknown"


@pytest.fixture
def private_ferretdb(tmp_path: Path) -> Iterator[ServerProcess]:
    directory = tmp_path / "ferretdb"
    directory.mkdir()
    server = start_ferretdb(directory)
    yield server
    server.stop()


def test_status_reports_mongodb_down_without_a_project_count(
    make_settings: Callable[..., Settings], private_ferretdb: ServerProcess
) -> None:
    settings = make_settings(mongo_uri=private_ferretdb.url, rate_limit_ip_requests=0)
    with TestClient(region_app(settings)) as client:
        private_ferretdb.stop()

        response = client.get("/v1/status")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["mongodb"]["status"] == "down"
    assert body["checks"]["redis"]["status"] == "up"
    assert body["active_projects"] is None
    # Both waits run concurrently, each bounded by the readiness timeout (1 s here).
    assert body["checks"]["mongodb"]["latency_ms"] < 3000


def test_regions_summary(client: TestClient, region_settings: Settings) -> None:
    assert client.get("/v1/status/regions").json()["status"] == "unknown"

    record(region_settings, all_regions())
    operational = client.get("/v1/status/regions").json()
    record(region_settings, all_regions(eu_west=False))
    degraded = client.get("/v1/status/regions").json()
    record(region_settings, all_regions(eu_west=False, eu_central=False))
    outage = client.get("/v1/status/regions").json()

    assert operational["status"] == "operational"
    assert (operational["healthy"], operational["unhealthy"], operational["unknown"]) == (6, 0, 0)
    assert degraded["status"] == "degraded"
    eu_west = next(region for region in degraded["regions"] if region["code"] == "eu-west")
    assert eu_west == {
        "code": "eu-west",
        "name": "EU West (Ireland)",
        "status": "unhealthy",
        "serving": "eu-central",
        "failed_over": True,
        "uptime_percent": 50.0,
    }
    assert outage["status"] == "partial_outage"
    assert outage["unhealthy"] == 2


# -- One project's status -----------------------------------------------------------------


def key_headers(secret: str) -> dict[str, str]:
    return {"X-Pulse-Key": secret}


@pytest.fixture(scope="module")
def keyed(world: World) -> dict[str, Any]:
    """A project of each organization, with its key's secret."""
    a = world.create_project("owner", world.organization_a, f"keyed-{uuid.uuid4().hex[:6]}")
    b = world.create_project("outsider", world.organization_b, f"keyed-{uuid.uuid4().hex[:6]}")
    world.settle()
    return {
        "a": UUID(a["project"]["id"]),
        "a_secret": a["key"]["secret"],
        "b": UUID(b["project"]["id"]),
        "b_secret": b["key"]["secret"],
    }


def test_a_member_sees_the_project_status(world: World, keyed: dict[str, Any]) -> None:
    record(world.settings, all_regions())

    response = world.client.get(
        f"/v1/status/projects/{keyed['a']}", headers=world.headers("viewer")
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["project_id"] == str(keyed["a"])
    assert body["region"] == "eu-west"
    assert body["serving_region"] == "eu-west"
    assert body["failed_over"] is False
    assert body["region_health"]["status"] == "healthy"
    assert body["keys"] == 1
    assert body["open_rooms"] == 0


def test_the_projects_own_key_sees_it_failed_over(world: World, keyed: dict[str, Any]) -> None:
    record(world.settings, all_regions(eu_west=False))

    response = world.client.get(
        f"/v1/status/projects/{keyed['a']}", headers=key_headers(keyed["a_secret"])
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["serving_region"] == "eu-central"
    assert body["failed_over"] is True
    assert body["region_health"]["status"] == "unhealthy"
    record(world.settings, all_regions())


def test_open_rooms_come_from_the_rooms_read_model(world: World, keyed: dict[str, Any]) -> None:
    with MongoClient[dict[str, Any]](MONGO_URI) as mongo:
        rooms = mongo[world.settings.mongo_database]["rm_rooms"]
        rooms.insert_many(
            [
                # As the rooms projection writes them: two open, one ended, one elsewhere.
                {"_id": f"r-{uuid.uuid4().hex}", "project_id": str(keyed["a"]), "open": True},
                {"_id": f"r-{uuid.uuid4().hex}", "project_id": str(keyed["a"]), "open": True},
                {"_id": f"r-{uuid.uuid4().hex}", "project_id": str(keyed["a"]), "open": False},
                {"_id": f"r-{uuid.uuid4().hex}", "project_id": str(keyed["b"]), "open": True},
            ]
        )
        try:
            response = world.client.get(
                f"/v1/status/projects/{keyed['a']}", headers=world.headers("owner")
            )
        finally:
            rooms.delete_many({"project_id": {"$in": [str(keyed["a"]), str(keyed["b"])]}})

    assert response.json()["open_rooms"] == 2


@pytest.mark.parametrize("who", ["outsider", "other key", "unknown project"])
def test_another_tenant_gets_404(world: World, keyed: dict[str, Any], who: str) -> None:
    project, headers = {
        "outsider": (keyed["a"], world.headers("outsider")),
        "other key": (keyed["a"], key_headers(keyed["b_secret"])),
        "unknown project": (uuid.uuid4(), world.headers("owner")),
    }[who]

    response = world.client.get(f"/v1/status/projects/{project}", headers=headers)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert str(project) not in response.json()["detail"]


def test_project_status_needs_credentials(world: World, keyed: dict[str, Any]) -> None:
    response = world.client.get(f"/v1/status/projects/{keyed['a']}")

    assert response.status_code == 401


def test_a_deleted_project_is_404_for_members_and_its_own_key(world: World) -> None:
    project = world.new_project()
    secret = world.new_key_secret(project)
    world.settle()
    before = world.client.get(f"/v1/status/projects/{project}", headers=key_headers(secret))
    assert before.status_code == 200, before.text

    deleted = world.client.delete(f"/v1/projects/{project}", headers=world.headers("owner"))
    assert deleted.status_code == 204, deleted.text

    member = world.client.get(f"/v1/status/projects/{project}", headers=world.headers("owner"))
    key = world.client.get(f"/v1/status/projects/{project}", headers=key_headers(secret))
    assert member.status_code == 404
    assert member.headers["content-type"] == "application/problem+json"
    assert key.status_code == 401  # A deleted project's keys stop working at once.


def test_a_malformed_project_id_is_422(world: World) -> None:
    response = world.client.get("/v1/status/projects/not-a-uuid", headers=world.headers("owner"))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


# -- Promptness when a dependency hangs ---------------------------------------------------


async def _ignores_cancellation(_clients: Any) -> None:
    """A probe that swallows its cancellation, as PyMongo's server selection can."""
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        try:
            await asyncio.sleep(deadline - time.monotonic())
        except asyncio.CancelledError:
            continue


def test_status_answers_within_the_timeout_even_if_a_probe_will_not_stop(
    monkeypatch: pytest.MonkeyPatch, client: TestClient
) -> None:
    monkeypatch.setitem(readiness.PROBES, "mongodb", _ignores_cancellation)
    started = time.monotonic()

    response = client.get("/v1/status")

    elapsed = time.monotonic() - started
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["mongodb"] == {
        "status": "down",
        "latency_ms": body["checks"]["mongodb"]["latency_ms"],
        "error": "no answer within 1 s",
    }
    assert body["checks"]["redis"]["status"] == "up"
    assert elapsed < 2.5  # The readiness timeout is 1 s here; the probe would take 4 s.


# -- Tokens follow the failover -----------------------------------------------------------


def test_a_token_is_minted_on_the_backup_while_the_primary_is_down(
    world: World, keyed: dict[str, Any]
) -> None:
    """Region-aware tokens: the URL and region of the region serving the project now."""
    secret, body = key_headers(keyed["a_secret"]), {"room": "standup", "identity": "ada"}
    record(world.settings, all_regions(eu_west=False))
    try:
        failed_over = world.client.post("/v1/tokens/create", json=body, headers=secret)
    finally:
        record(world.settings, all_regions())
    back = world.client.post("/v1/tokens/create", json=body, headers=secret)

    assert failed_over.status_code == 201, failed_over.text
    assert failed_over.json()["region"] == "eu-central"
    assert failed_over.json()["failed_over_from"] == "eu-west"
    assert failed_over.json()["url"] == "ws://127.0.0.1:7880"
    assert back.json()["region"] == "eu-west"
    assert back.json()["failed_over_from"] is None
