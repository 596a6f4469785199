from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from pulse.config import Settings
from tests.api.support import app_client


@pytest.mark.parametrize("path", ["/health", "/ready", "/openapi.json", "/missing", "/_test/boom"])
def test_security_headers_are_on_every_response(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp


def test_errors_are_never_cached(client: TestClient) -> None:
    assert client.get("/missing").headers["cache-control"] == "no-store"
    assert client.get("/_test/boom").headers["cache-control"] == "no-store"


def test_no_server_internals_in_headers(client: TestClient) -> None:
    response = client.get("/health")

    assert "server" not in response.headers
    assert "x-powered-by" not in response.headers


def test_cors_is_off_unless_origins_are_configured(client: TestClient) -> None:
    response = client.get("/health", headers={"Origin": "https://evil.example"})

    assert "access-control-allow-origin" not in response.headers


def test_configured_cors_origin_is_allowed_and_sees_the_request_id(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(cors_origins=["https://console.example"])
    with app_client(settings) as client:
        allowed = client.get("/health", headers={"Origin": "https://console.example"})
        other = client.get("/health", headers={"Origin": "https://evil.example"})

    assert allowed.headers["access-control-allow-origin"] == "https://console.example"
    assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
