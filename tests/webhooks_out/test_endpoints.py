"""Webhook endpoints over HTTP: create (secret shown once), read, change, delete,
enable/disable, rotate the secret, the event-type filter, roles and isolation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient
from redis import Redis
from standardwebhooks.webhooks import Webhook

from pulse.api.app import create_app
from pulse.domain.webhook_endpoint import WebhookEndpoint
from pulse.migrator import Migrator
from pulse.outbound.resolver import StaticResolver
from pulse.services.clock import utc_now
from pulse.services.webhook_catalog import CATALOG
from pulse.services.webhook_secrets import WebhookSecrets
from tests.conftest import MONGO_URI, REDIS_URL
from tests.management.conftest import management_settings
from tests.management.world import World, build_world

HOOKS = {"hooks.example.com": ["8.8.8.8"], "other.example.com": ["1.1.1.1"]}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """A tenant world whose names resolve from ``HOOKS`` (no DNS, no packet sent)."""
    database = f"pulse_test_{uuid.uuid4().hex[:12]}"
    settings = management_settings(database)
    with MongoClient(MONGO_URI, serverSelectionTimeoutMS=5_000) as mongo:
        Migrator(mongo[database], settings).migrate()
        try:
            app = create_app(settings)
            app.state.webhook_resolver = StaticResolver(HOOKS)
            with TestClient(app) as client:
                yield build_world(client, settings)
        finally:
            mongo.drop_database(database)
            redis = Redis.from_url(REDIS_URL)
            for key in redis.scan_iter(match=f"{settings.redis_key_prefix}*"):
                redis.delete(key)
            redis.close()


def endpoints(project_id: UUID) -> str:
    return f"/v1/projects/{project_id}/webhooks/endpoints"


def create(world: World, who: str = "owner", project_id: UUID | None = None, **body: Any) -> Any:
    payload = {"url": "https://hooks.example.com/pulse", **body}
    return world.client.post(
        endpoints(project_id or world.project_a), json=payload, headers=world.headers(who)
    )


def created(world: World, **body: Any) -> dict[str, Any]:
    response = create(world, **body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_an_endpoint_is_created_with_its_secret_shown_once(world: World) -> None:
    response = create(world, description="orders", event_types=["room_started"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["url"] == "https://hooks.example.com/pulse"
    assert body["event_types"] == ["room_started"]
    assert body["enabled"] is True
    assert response.headers["location"] == f"{endpoints(world.project_a)}/{body['id']}"

    one = world.client.get(response.headers["location"], headers=world.headers("viewer"))
    assert one.status_code == 200
    assert "secret" not in one.json()
    assert "whsec_" not in one.text
    assert one.json()["description"] == "orders"

    world.settle()
    listed = world.client.get(endpoints(world.project_a), headers=world.headers("viewer"))
    assert listed.status_code == 200
    assert body["id"] in [item["id"] for item in listed.json()["items"]]
    assert "whsec_" not in listed.text
    assert "secret" not in listed.text


def test_the_secret_is_a_standard_webhooks_secret(world: World) -> None:
    secret = created(world)["secret"]
    signer = Webhook(secret)
    now = utc_now()
    signature = signer.sign("msg_1", now, '{"a":1}')
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    assert signer.verify('{"a":1}', headers) == {"a": 1}


def test_update_changes_url_description_and_filter(world: World) -> None:
    endpoint = f"{endpoints(world.project_a)}/{created(world)['id']}"
    changed = world.client.patch(
        endpoint,
        json={
            "url": "https://other.example.com/v2",
            "description": "v2",
            "event_types": ["room_ended", "room_started", "room_ended"],
        },
        headers=world.headers("admin"),
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["url"] == "https://other.example.com/v2"
    assert body["event_types"] == ["room_ended", "room_started"]
    assert body["description"] == "v2"
    cleared = world.client.patch(endpoint, json={"event_types": []}, headers=world.headers("admin"))
    assert cleared.json()["event_types"] == []
    nulled = world.client.patch(endpoint, json={"url": None}, headers=world.headers("admin"))
    assert nulled.status_code == 422


def test_an_unknown_event_type_is_refused(world: World) -> None:
    refused = create(world, event_types=["room_started", "room_exploded"])
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert "room_exploded" in refused.json()["detail"]
    endpoint = f"{endpoints(world.project_a)}/{created(world)['id']}"
    assert (
        world.client.patch(
            endpoint, json={"event_types": ["nope"]}, headers=world.headers("owner")
        ).status_code
        == 422
    )


def test_every_catalog_type_can_be_chosen(world: World) -> None:
    body = created(world, event_types=sorted(CATALOG))
    assert body["event_types"] == sorted(CATALOG)


def test_disable_and_enable(world: World) -> None:
    endpoint = f"{endpoints(world.project_a)}/{created(world)['id']}"
    disabled = world.client.post(f"{endpoint}/disable", headers=world.headers("owner")).json()
    assert disabled["enabled"] is False
    assert disabled["disabled_by"] == "user"
    enabled = world.client.post(f"{endpoint}/enable", headers=world.headers("owner")).json()
    assert enabled["enabled"] is True
    assert enabled["disabled_by"] is None
    world.settle()
    only_enabled = world.client.get(
        f"{endpoints(world.project_a)}?enabled=false&limit=100", headers=world.headers("owner")
    ).json()
    assert endpoint.rsplit("/", 1)[1] not in [item["id"] for item in only_enabled["items"]]


def test_delete_makes_the_endpoint_gone(world: World) -> None:
    endpoint_id = created(world)["id"]
    endpoint = f"{endpoints(world.project_a)}/{endpoint_id}"
    assert world.client.delete(endpoint, headers=world.headers("owner")).status_code == 204
    for method, path in (
        ("GET", endpoint),
        ("PATCH", endpoint),
        ("DELETE", endpoint),
        ("POST", f"{endpoint}/enable"),
        ("POST", f"{endpoint}/rotate-secret"),
    ):
        response = world.client.request(
            method, path, json={} if method == "PATCH" else None, headers=world.headers("owner")
        )
        assert response.status_code == 404, (method, path, response.text)
    world.settle()
    listed = world.client.get(
        f"{endpoints(world.project_a)}?limit=100", headers=world.headers("owner")
    ).json()
    assert endpoint_id not in [item["id"] for item in listed["items"]]


def _signing_secrets(world: World, endpoint_id: str, at: Any) -> set[str]:
    endpoint = world.app.load(UUID(endpoint_id), WebhookEndpoint)
    opener = WebhookSecrets(world.settings)
    return {opener.open(sealed) for sealed in endpoint.signing_secrets(at)}


def test_rotation_signs_with_both_secrets_during_the_grace_period(world: World) -> None:
    first = created(world)
    endpoint = f"{endpoints(world.project_a)}/{first['id']}"
    rotated = world.client.post(
        f"{endpoint}/rotate-secret", json={"grace_seconds": 3600}, headers=world.headers("admin")
    )
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["secret"]
    assert second.startswith("whsec_")
    assert second != first["secret"]
    now = utc_now()
    assert _signing_secrets(world, first["id"], now) == {first["secret"], second}
    assert _signing_secrets(world, first["id"], now + timedelta(hours=2)) == {second}
    assert "whsec_" not in world.client.get(endpoint, headers=world.headers("owner")).text

    # Without a grace period the previous secret stops at once.
    third = world.client.post(
        f"{endpoint}/rotate-secret", json={"grace_seconds": 0}, headers=world.headers("owner")
    ).json()["secret"]
    assert _signing_secrets(world, first["id"], utc_now()) == {third}


def test_the_grace_period_is_capped(world: World) -> None:
    endpoint_id = created(world)["id"]
    world.client.post(
        f"{endpoints(world.project_a)}/{endpoint_id}/rotate-secret",
        json={"grace_seconds": 10 * 365 * 86_400},
        headers=world.headers("owner"),
    )
    endpoint = world.app.load(UUID(endpoint_id), WebhookEndpoint)
    cap = timedelta(seconds=world.settings.key_rotation_max_grace_seconds)
    assert endpoint.previous_secret_expires_at is not None
    assert endpoint.previous_secret_expires_at <= utc_now() + cap


def test_any_role_reads_only_owners_and_admins_change(world: World) -> None:
    endpoint = f"{endpoints(world.project_a)}/{created(world)['id']}"
    for who in ("viewer", "developer"):
        assert world.client.get(endpoint, headers=world.headers(who)).status_code == 200
        assert (
            world.client.get(endpoints(world.project_a), headers=world.headers(who)).status_code
            == 200
        )
        for method, path, body in (
            ("POST", endpoints(world.project_a), {"url": "https://hooks.example.com/x"}),
            ("PATCH", endpoint, {"description": "mine"}),
            ("DELETE", endpoint, None),
            ("POST", f"{endpoint}/disable", None),
            ("POST", f"{endpoint}/enable", None),
            ("POST", f"{endpoint}/rotate-secret", None),
        ):
            response = world.client.request(method, path, json=body, headers=world.headers(who))
            assert response.status_code == 403, (who, method, path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
    assert create(world, who="admin").status_code == 201


def test_a_forbidden_caller_learns_nothing_about_the_url(world: World) -> None:
    refused = create(world, who="viewer", url="http://10.0.0.1/")
    assert refused.status_code == 403


def test_another_organization_sees_no_endpoint_route(world: World) -> None:
    endpoint_id = created(world)["id"]
    endpoint = f"{endpoints(world.project_a)}/{endpoint_id}"
    calls = [
        ("GET", endpoints(world.project_a), None),
        ("POST", endpoints(world.project_a), {"url": "https://hooks.example.com/x"}),
        ("GET", endpoint, None),
        ("PATCH", endpoint, {"description": "taken over"}),
        ("DELETE", endpoint, None),
        ("POST", f"{endpoint}/enable", None),
        ("POST", f"{endpoint}/disable", None),
        ("POST", f"{endpoint}/rotate-secret", {"grace_seconds": 0}),
    ]
    for method, path, body in calls:
        response = world.client.request(method, path, json=body, headers=world.headers("outsider"))
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    # Nor through a project of its own: the endpoint belongs to another project.
    theirs = f"{endpoints(world.project_b)}/{endpoint_id}"
    for method, path, body in [(m, p.replace(endpoint, theirs), b) for m, p, b in calls[2:]]:
        response = world.client.request(method, path, json=body, headers=world.headers("outsider"))
        assert response.status_code == 404, (method, path, response.text)
    # And the endpoint is unchanged.
    kept = world.client.get(endpoint, headers=world.headers("owner")).json()
    assert kept["enabled"] is True
    assert kept["description"] == ""


def test_the_event_catalog_is_public(world: World) -> None:
    response = world.client.get("/v1/webhooks/event-types")
    assert response.status_code == 200
    items = {item["name"]: item for item in response.json()["items"]}
    assert set(items) == set(CATALOG)
    for name in ("participant_joined", "recording_available", "api_key.revoked"):
        assert items[name]["version"] >= 1
        assert items[name]["schema"]["type"] == "object"


def test_a_project_webhook_url_is_one_of_its_endpoints(world: World) -> None:
    made = world.client.post(
        "/v1/projects",
        json={
            "organization_id": str(world.organization_a),
            "name": "with-url",
            "webhook_url": "https://hooks.example.com/legacy",
        },
        headers=world.headers("owner"),
    )
    assert made.status_code == 201, made.text
    project_id = UUID(made.json()["project"]["id"])
    world.settle()

    def listed() -> list[dict[str, Any]]:
        world.settle()
        page = world.client.get(endpoints(project_id), headers=world.headers("owner")).json()
        items: list[dict[str, Any]] = page["items"]
        return items

    (endpoint,) = listed()
    assert endpoint["url"] == "https://hooks.example.com/legacy"
    assert "whsec_" not in str(endpoint)

    moved = world.client.put(
        f"/v1/projects/{project_id}",
        json={"webhook_url": "https://other.example.com/new"},
        headers=world.headers("owner"),
    )
    assert moved.status_code == 200, moved.text
    assert [(e["id"], e["url"]) for e in listed()] == [
        (endpoint["id"], "https://other.example.com/new")
    ]
    # Its secret is obtained by rotating it.
    rotated = world.client.post(
        f"{endpoints(project_id)}/{endpoint['id']}/rotate-secret",
        json={"grace_seconds": 0},
        headers=world.headers("owner"),
    )
    assert rotated.json()["secret"].startswith("whsec_")

    refused = world.client.put(
        f"/v1/projects/{project_id}",
        json={"webhook_url": "http://192.168.1.1/"},
        headers=world.headers("owner"),
    )
    assert refused.status_code == 422
    assert listed()[0]["url"] == "https://other.example.com/new"

    cleared = world.client.put(
        f"/v1/projects/{project_id}", json={"webhook_url": None}, headers=world.headers("owner")
    )
    assert cleared.status_code == 200
    assert listed() == []

    again = world.client.put(
        f"/v1/projects/{project_id}",
        json={"webhook_url": "https://hooks.example.com/back"},
        headers=world.headers("owner"),
    )
    assert again.status_code == 200
    assert [e["url"] for e in listed()] == ["https://hooks.example.com/back"]
