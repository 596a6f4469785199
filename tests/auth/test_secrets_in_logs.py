"""No password, token or key secret reaches the logs, on success or failure."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from pulse.config import Settings
from pulse.services.clock import utc_now
from tests.auth.conftest import CONTEXT, PASSWORD, ProjectKeys, basic, bearer


def test_secrets_never_appear_in_the_logs(
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Settings],
    key_prefix: str,
    project_keys: ProjectKeys,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = make_client(make_settings(redis_key_prefix=key_prefix, log_level="DEBUG"))
    wrong_password = "not the password, but close"
    key_id = project_keys.add_key()
    key_secret = project_keys.secrets[key_id]

    signed_up = client.post(
        "/v1/auth/signup",
        json={"email": "ada@example.com", "name": "Ada", "password": PASSWORD},
    ).json()
    client.post("/v1/auth/login", json={"email": "ada@example.com", "password": wrong_password})
    client.post("/v1/auth/login", json={"email": "eve@example.com", "password": wrong_password})
    client.post("/v1/auth/signup", json={"email": "bad", "name": "x", "password": "tiny-pw-7"})
    logged_in = client.post(
        "/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    ).json()
    refreshed = client.post(
        "/v1/auth/refresh", json={"refresh_token": logged_in["refresh_token"]}
    ).json()
    # A replay, which ends the session and is logged as a warning.
    client.post("/v1/auth/refresh", json={"refresh_token": logged_in["refresh_token"]})
    client.get("/v1/auth/me", headers=bearer(signed_up["access_token"]))
    client.get("/v1/auth/me", headers=bearer(refreshed["access_token"]))
    client.get("/v1/auth/whoami", headers={"X-Pulse-Key": key_secret})
    client.get("/v1/auth/whoami", headers=basic(key_id, key_secret))
    client.get("/v1/auth/whoami", headers={"X-Pulse-Key": key_secret[:-1] + "Z"})
    project_keys.change(lambda project: project.revoke_key(key_id, utc_now(), CONTEXT))
    client.get("/v1/auth/whoami", headers={"X-Pulse-Key": key_secret})
    client.post("/v1/auth/logout", json={"refresh_token": signed_up["refresh_token"]})

    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert '"event": "signed_up"' in output  # The logs were captured at all.
    assert "refresh_token_reused" in output
    secrets = {
        "password": PASSWORD,
        "wrong password": wrong_password,
        "short password": "tiny-pw-7",
        "key secret": key_secret,
        "key secret (part)": key_secret[3:],
        "key secret (forged)": key_secret[:-1] + "Z",
    }
    for session in (signed_up, logged_in, refreshed):
        secrets[f"access token {session['session_id']}"] = session["access_token"]
        secrets[f"refresh token {session['session_id']}"] = session["refresh_token"]
        # The secret half of the refresh token, without the session id in front.
        secrets[f"refresh secret {session['session_id']}"] = session["refresh_token"].split(".")[1]
    for name, secret in secrets.items():
        assert secret not in output, f"{name} was logged"
        assert json.dumps(secret)[1:-1] not in output, f"{name} was logged (escaped)"
