"""Sign-up, login, refresh, logout and /me through the API, on the real services."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import jwt
from fastapi.testclient import TestClient
from redis import Redis

from pulse.config import Settings
from pulse.domain.session import Session
from pulse.domain.user import User, user_id_for
from pulse.services.application import PulseApplication
from tests.api.servers import free_port
from tests.auth.conftest import PASSWORD, bearer, sign_up
from tests.conftest import REDIS_URL

PROBLEM = "application/problem+json"


def _without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "request_id"}


def assert_unauthorized(response: Any, challenge: str = "Bearer") -> dict[str, Any]:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith(challenge)
    body: dict[str, Any] = response.json()
    assert body["status"] == 401
    return body


def test_sign_up_returns_the_user_and_tokens_that_work_on_me(client: TestClient) -> None:
    session = sign_up(client, email="Ada@Example.com")

    assert session["user"]["email"] == "ada@example.com"
    assert session["user"]["name"] == "Ada Lovelace"
    assert session["user"]["id"] == str(user_id_for("ada@example.com"))
    assert session["token_type"] == "Bearer"
    assert session["refresh_token"].startswith("rt_")
    assert 0 < session["expires_in"] <= 900
    assert "password" not in json.dumps(session)

    me = client.get("/v1/auth/me", headers=bearer(session["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json() == session["user"]

    whoami = client.get("/v1/auth/whoami", headers=bearer(session["access_token"]))
    assert whoami.json() == {
        "kind": "user",
        "user_id": session["user"]["id"],
        "session_id": session["session_id"],
    }


def test_sign_up_records_the_request_on_the_events(
    client: TestClient, pulse_app: PulseApplication
) -> None:
    response = client.post(
        "/v1/auth/signup",
        json={"email": "ada@example.com", "name": "Ada", "password": PASSWORD},
        headers={"User-Agent": "pulse-tests/1.0", "X-Request-ID": "req-signup-1"},
    )
    assert response.status_code == 201

    user = pulse_app.load(UUID(response.json()["user"]["id"]), User)
    session = pulse_app.load(UUID(response.json()["session_id"]), Session)
    assert user.password_hash.startswith("$argon2id$")
    for aggregate in (user, session):
        (created,) = pulse_app.repository.event_store.get(aggregate.id)
        context = created.context  # type: ignore[attr-defined]
        assert context.actor_kind == "user"
        assert context.actor_id == str(user.id)
        assert context.user_agent == "pulse-tests/1.0"
        assert context.request_id == "req-signup-1"
        assert context.ip == "testclient"


def test_a_second_sign_up_with_the_same_email_is_409(client: TestClient) -> None:
    sign_up(client, email="ada@example.com")

    response = client.post(
        "/v1/auth/signup",
        json={"email": "ADA@example.com", "name": "Impostor", "password": "another password!"},
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "An account with this email already exists"


def test_invalid_sign_ups_are_422_without_echoing_the_input(client: TestClient) -> None:
    cases = [
        {"email": "not-an-email", "name": "Ada", "password": PASSWORD},
        {"email": "ada@example.com", "name": "Ada", "password": "short-pw"},
        {"email": "ada@example.com", "name": "Ada", "password": "x" * 257},
        {"email": "ada@example.com", "name": "", "password": PASSWORD},
        {"email": "ada@example.com", "name": "Ada"},
    ]
    for body in cases:
        response = client.post("/v1/auth/signup", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == PROBLEM
        assert "short-pw" not in response.text
        assert "not-an-email" not in response.text


def test_login_starts_a_new_session(client: TestClient) -> None:
    first = sign_up(client)

    response = client.post(
        "/v1/auth/login", json={"email": "ADA@example.com", "password": PASSWORD}
    )

    assert response.status_code == 200, response.text
    session = response.json()
    assert session["user"] == first["user"]
    assert session["session_id"] != first["session_id"]
    assert client.get("/v1/auth/me", headers=bearer(session["access_token"])).status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_401(client: TestClient) -> None:
    sign_up(client)

    wrong = client.post(
        "/v1/auth/login", json={"email": "ada@example.com", "password": "not the password"}
    )
    unknown = client.post(
        "/v1/auth/login", json={"email": "nobody@example.com", "password": "not the password"}
    )

    assert_unauthorized(wrong)
    assert_unauthorized(unknown)
    assert _without_request_id(wrong.json()) == _without_request_id(unknown.json())
    assert wrong.json()["detail"] == "Invalid email or password"
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]


def test_login_rehashes_a_password_hashed_with_weaker_parameters(
    client: TestClient, pulse_app: PulseApplication
) -> None:
    from argon2 import PasswordHasher

    from pulse.domain.context import CommandContext

    account = sign_up(client)
    user = pulse_app.load(UUID(account["user"]["id"]), User)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    user.change_password_hash(weak, CommandContext.system("tests"))
    pulse_app.save(user)

    response = client.post(
        "/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )

    assert response.status_code == 200, response.text
    rehashed = pulse_app.load(user.id, User).password_hash
    assert rehashed != weak
    assert rehashed.startswith("$argon2id$v=19$m=65536")


def test_refresh_rotates_and_a_reused_token_ends_the_session(client: TestClient) -> None:
    first = sign_up(client)

    response = client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["session_id"] == first["session_id"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["user"] == first["user"]
    assert client.get("/v1/auth/me", headers=bearer(second["access_token"])).status_code == 200

    # The first token again: someone holds a copy, so the whole session ends.
    reused = client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_unauthorized(reused)
    assert reused.json()["detail"] == "Invalid or expired refresh token"

    assert_unauthorized(client.get("/v1/auth/me", headers=bearer(second["access_token"])))
    assert_unauthorized(client.get("/v1/auth/me", headers=bearer(first["access_token"])))
    latest = client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert_unauthorized(latest)


def test_malformed_and_unknown_refresh_tokens_are_401(client: TestClient) -> None:
    session = sign_up(client)
    session_hex = UUID(session["session_id"]).hex
    for token in ["nope", "rt_", "rt_zz.secret", f"rt_{UUID(int=1).hex}.secret"]:
        response = client.post("/v1/auth/refresh", json={"refresh_token": token})
        assert_unauthorized(response)
        assert response.json()["detail"] == "Invalid or expired refresh token"
    # The real token still works: none of the above touched its session.
    assert session["refresh_token"].startswith(f"rt_{session_hex}.")
    response = client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert response.status_code == 200


def test_a_guessed_refresh_token_for_a_known_session_does_not_end_it(
    client: TestClient,
) -> None:
    """The session id is in every access token, so it is no secret: guessing must fail
    without letting anyone who saw an access token end that session."""
    session = sign_up(client)
    guessed = f"rt_{UUID(session['session_id']).hex}.not-the-secret"

    assert_unauthorized(client.post("/v1/auth/refresh", json={"refresh_token": guessed}))

    assert client.get("/v1/auth/me", headers=bearer(session["access_token"])).status_code == 200
    response = client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert response.status_code == 200, response.text


def test_logout_with_the_access_token_refuses_it_on_the_next_request(
    client: TestClient, auth_settings: Settings
) -> None:
    session = sign_up(client)
    headers = bearer(session["access_token"])
    assert client.get("/v1/auth/me", headers=headers).status_code == 200

    response = client.post("/v1/auth/logout", headers=headers)
    assert response.status_code == 204, response.text

    assert_unauthorized(client.get("/v1/auth/me", headers=headers))
    refresh = client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert_unauthorized(refresh)
    # Listed only for as long as one of the session's tokens can still be valid.
    with Redis.from_url(REDIS_URL) as redis:
        key = f"{auth_settings.redis_key_prefix}revoked-session:{session['session_id']}"
        assert 0 < redis.ttl(key) <= auth_settings.access_token_ttl_seconds + 5


def test_logout_with_the_refresh_token_ends_that_session_only(client: TestClient) -> None:
    one = sign_up(client)
    other = client.post("/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    two = other.json()

    response = client.post("/v1/auth/logout", json={"refresh_token": one["refresh_token"]})
    assert response.status_code == 204

    assert_unauthorized(client.get("/v1/auth/me", headers=bearer(one["access_token"])))
    assert client.get("/v1/auth/me", headers=bearer(two["access_token"])).status_code == 200
    # Logging out again succeeds: the client's goal, a dead session, holds.
    again = client.post("/v1/auth/logout", json={"refresh_token": one["refresh_token"]})
    assert again.status_code == 204


def test_logout_without_credentials_or_with_a_wrong_token_is_401(client: TestClient) -> None:
    session = sign_up(client)

    assert_unauthorized(client.post("/v1/auth/logout"))
    wrong = session["refresh_token"][:-4] + "AAAA"
    assert_unauthorized(client.post("/v1/auth/logout", json={"refresh_token": wrong}))
    assert client.get("/v1/auth/me", headers=bearer(session["access_token"])).status_code == 200


def test_an_expired_access_token_is_refused(
    make_client: Callable[..., TestClient], auth_settings: Settings
) -> None:
    # Below the setting's minimum (30 s) on purpose, to keep the test short.
    short = auth_settings.model_copy(update={"access_token_ttl_seconds": 1})
    client = make_client(short)
    session = sign_up(client)
    assert session["expires_in"] <= 1

    time.sleep(2.1)

    response = client.get("/v1/auth/me", headers=bearer(session["access_token"]))
    body = assert_unauthorized(response)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert body["detail"] == "Invalid or expired access token"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_tampered_and_unsigned_tokens_are_refused(
    client: TestClient, auth_settings: Settings
) -> None:
    victim = sign_up(client, email="victim@example.com")
    attacker = sign_up(client, email="mallory@example.com")
    header, _payload, signature = attacker["access_token"].split(".")
    claims = jwt.decode(attacker["access_token"], options={"verify_signature": False})
    as_victim = _b64({**claims, "sub": victim["user"]["id"], "sid": victim["session_id"]})

    forged = [
        f"{header}.{as_victim}.{signature}",
        f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{as_victim}.",
        jwt.encode({**claims, "sub": victim["user"]["id"]}, "x" * 64, algorithm="HS256"),
        attacker["access_token"][:-2]
        + ("AA" if not attacker["access_token"].endswith("AA") else "BB"),
        attacker["refresh_token"],
    ]
    for token in forged:
        assert_unauthorized(client.get("/v1/auth/me", headers=bearer(token)))
        assert_unauthorized(client.get("/v1/auth/whoami", headers=bearer(token)), "Bearer")


def test_me_without_credentials_is_401_with_a_challenge(client: TestClient) -> None:
    response = client.get("/v1/auth/me")

    assert_unauthorized(response)
    assert response.headers["www-authenticate"] == 'Bearer realm="pulse"'
    assert_unauthorized(client.get("/v1/auth/me", headers={"Authorization": "Token abc"}))


def test_the_openapi_document_describes_the_auth_routes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()

    paths = document["paths"]
    for path, method in [
        ("/v1/auth/signup", "post"),
        ("/v1/auth/login", "post"),
        ("/v1/auth/refresh", "post"),
        ("/v1/auth/logout", "post"),
        ("/v1/auth/me", "get"),
        ("/v1/auth/whoami", "get"),
    ]:
        operation = paths[path][method]
        assert operation["summary"]
        problems = {code for code in operation["responses"] if code.startswith(("4", "5"))}
        assert problems, path
    assert "409" in paths["/v1/auth/signup"]["post"]["responses"]
    assert "401" in paths["/v1/auth/login"]["post"]["responses"]
    assert "WWW-Authenticate" in paths["/v1/auth/me"]["get"]["responses"]["401"]["headers"]
    schemes = document["components"]["securitySchemes"]
    assert {"AccessToken", "ProjectKey", "ProjectKeyBasic"} <= set(schemes)
    whoami_security = paths["/v1/auth/whoami"]["get"]["security"]
    assert {name for item in whoami_security for name in item} == {
        "AccessToken",
        "ProjectKey",
        "ProjectKeyBasic",
    }
    password = document["components"]["schemas"]["SignUpRequest"]["properties"]["password"]
    assert password["minLength"] == 12
    assert password["maxLength"] == 256


def test_without_redis_tokens_are_not_trusted_blindly(
    make_client: Callable[..., TestClient], auth_settings: Settings
) -> None:
    # Without Redis a logged-out session cannot be told from a live one: fail closed.
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    client = make_client(auth_settings.model_copy(update={"redis_url": dead_redis}))
    session = sign_up(client)

    response = client.get("/v1/auth/me", headers=bearer(session["access_token"]))

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    logout = client.post("/v1/auth/logout", json={"refresh_token": session["refresh_token"]})
    assert logout.status_code == 503
