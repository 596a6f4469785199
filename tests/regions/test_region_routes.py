"""The public region routes, and the authenticated stats."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from pulse.config import Settings
from pulse.livekit.regions import CATALOG
from tests.api.servers import free_port
from tests.management.world import World
from tests.regions.conftest import region_app
from tests.regions.support import all_regions, record


def test_regions_are_listed_with_location_backup_url_and_unknown_health(
    client: TestClient,
) -> None:
    response = client.get("/v1/regions")

    assert response.status_code == 200, response.text
    regions = response.json()
    assert [region["code"] for region in regions] == list(CATALOG)
    eu_west = regions[2]
    assert eu_west["name"] == "EU West (Ireland)"
    assert eu_west["location"] == {"latitude": 53.3, "longitude": -6.3}
    assert eu_west["backup"] == "eu-central"
    assert eu_west["websocket_url"] == "ws://127.0.0.1:7880"
    # No worker has checked yet: unknown, and (no evidence) serving itself.
    assert eu_west["health"]["status"] == "unknown"
    assert eu_west["health"]["serving"] == "eu-west"
    assert eu_west["health"]["latency_ms"] is None


def test_health_shows_the_latest_checks_and_failovers(
    client: TestClient, region_settings: Settings
) -> None:
    record(region_settings, all_regions(us_east=False))

    response = client.get("/v1/regions/health")

    assert response.status_code == 200
    health = {item["code"]: item for item in response.json()}
    assert set(health) == set(CATALOG)
    assert health["us-east"]["status"] == "unhealthy"
    assert health["us-east"]["error"] == "ConnectError"
    assert health["us-east"]["failed_over"] is True
    assert health["us-east"]["serving"] == "us-west"
    assert health["us-west"]["status"] == "healthy"
    assert health["us-west"]["latency_ms"] == 5.0
    assert health["us-west"]["checked_at"]


def test_one_region_and_its_health_history(client: TestClient, region_settings: Settings) -> None:
    record(region_settings, all_regions())
    record(region_settings, all_regions(asia_south=False))

    one = client.get("/v1/regions/asia-south")
    detail = client.get("/v1/regions/asia-south/health")
    limited = client.get("/v1/regions/asia-south/health", params={"limit": 1})

    assert one.status_code == 200
    assert one.json()["code"] == "asia-south"
    assert one.json()["health"]["status"] == "unhealthy"
    assert one.json()["health"]["serving"] == "asia-southeast"
    assert detail.status_code == 200
    body = detail.json()
    assert body["code"] == "asia-south"
    assert body["status"] == "unhealthy"
    assert [entry["healthy"] for entry in body["history"]] == [False, True]  # Newest first.
    assert body["history"][0]["failed_over"] is True
    assert len(limited.json()["history"]) == 1


def test_an_unknown_region_is_404(client: TestClient) -> None:
    for path in ("/v1/regions/mars-north", "/v1/regions/mars-north/health"):
        response = client.get(path)

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


def test_nearest_by_coordinates(client: TestClient) -> None:
    response = client.post("/v1/regions/nearest", json={"latitude": 48.8566, "longitude": 2.3522})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["region"]["code"] == "eu-central"
    assert body["backup"]["code"] == "eu-west"
    assert body["nearest_overall"] == "eu-central"
    assert 400 < body["distance_km"] < 550
    assert body["region"]["websocket_url"] == "ws://127.0.0.1:7880"


def test_nearest_skips_a_region_that_is_down(client: TestClient, region_settings: Settings) -> None:
    record(region_settings, all_regions(eu_central=False))
    paris = {"latitude": 48.8566, "longitude": 2.3522}

    body = client.post("/v1/regions/nearest", json=paris).json()

    assert body["region"]["code"] == "eu-west"
    assert body["backup"]["code"] == "eu-central"
    assert body["backup"]["health"]["status"] == "unhealthy"
    assert body["nearest_overall"] == "eu-central"


def test_nearest_requires_valid_coordinates(client: TestClient) -> None:
    for body in ({}, {"latitude": 91, "longitude": 0}, {"latitude": 0, "longitude": 181}):
        response = client.post("/v1/regions/nearest", json=body)

        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"


def test_region_routes_answer_with_redis_down_as_unknown(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(region_app(settings)) as client:
        response = client.get("/v1/regions")

    assert response.status_code == 200
    assert {region["health"]["status"] for region in response.json()} == {"unknown"}


def test_stats_need_credentials(client: TestClient) -> None:
    response = client.get("/v1/regions/stats")

    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


def test_stats_count_checks_uptime_latency_failovers_and_projects(world: World) -> None:
    world.new_project()  # A us-east project of organization A (the world's are in eu-west).
    world.settle()
    record(world.settings, all_regions())
    record(world.settings, all_regions(eu_west=False))

    response = world.client.get("/v1/regions/stats", headers=world.headers("viewer"))

    assert response.status_code == 200, response.text
    stats = {item["code"]: item for item in response.json()}
    assert set(stats) == set(CATALOG)
    assert stats["eu-west"]["checks"] == 2
    assert stats["eu-west"]["uptime_percent"] == 50.0
    assert stats["eu-west"]["p50_latency_ms"] == 5.0
    assert stats["eu-west"]["failovers"] == 1
    assert stats["eu-west"]["projects"] == 2  # alpha-app and bravo-app.
    assert stats["us-east"]["projects"] >= 1
    assert stats["asia-south"]["projects"] == 0
    assert stats["asia-south"]["uptime_percent"] == 100.0


def test_a_configured_region_answers_its_own_livekit_url(
    make_settings: Callable[..., Settings],
) -> None:
    endpoint = {"url": "https://sg.livekit.example", "api_key": "k", "api_secret": "s"}
    settings = make_settings(livekit_regions={"asia-southeast": endpoint})
    with TestClient(region_app(settings)) as client:
        configured = client.get("/v1/regions/asia-southeast").json()
        default = client.get("/v1/regions/eu-west").json()
        listed = client.get("/v1/regions")

    assert configured["websocket_url"] == "wss://sg.livekit.example"
    assert default["websocket_url"] == "ws://127.0.0.1:7880"
    assert len(listed.json()) == 6
    assert "api_secret" not in listed.text  # Never credentials.
    assert '"k"' not in listed.text


def test_history_limit_is_validated(client: TestClient) -> None:
    for limit in (0, 1001, "many"):
        response = client.get("/v1/regions/eu-west/health", params={"limit": limit})

        assert response.status_code == 422, limit
        assert response.headers["content-type"] == "application/problem+json"
