"""Project API keys: X-Pulse-Key and HTTP Basic, the cache, revocation and rotation."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient
from redis import Redis as SyncRedis

from pulse.api.auth import digester_of
from pulse.config import Settings
from pulse.domain.project import Project
from pulse.services.api_key_auth import (
    KeyState,
    cache_key,
    cache_key_state,
    cached_key_state,
    read_presented_key,
)
from pulse.services.clock import utc_now
from pulse.services.credentials import new_key_id
from pulse.services.errors import AuthenticationError
from tests.auth.conftest import CONTEXT, ProjectKeys, basic, bearer, run_with_redis, sign_up
from tests.conftest import MONGO_URI, REDIS_URL

PROBLEM = "application/problem+json"


def whoami(client: TestClient, headers: dict[str, str]) -> Any:
    return client.get("/v1/auth/whoami", headers=headers)


def assert_key_refused(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert "Basic" in response.headers["www-authenticate"]
    assert response.json()["detail"] == "Invalid, expired or revoked API key"


def expected(keys: ProjectKeys, key_id: str) -> dict[str, str]:
    return {
        "kind": "project_key",
        "project_id": str(keys.project_id),
        "organization_id": str(keys.organization_id),
        "key_id": key_id,
    }


def cached(settings: Settings, keys: ProjectKeys, key_id: str) -> KeyState | None:
    return run_with_redis(
        settings,
        lambda redis: cached_key_state(
            redis, keys.digest(key_id), key_prefix=settings.redis_key_prefix
        ),
    )


def test_a_key_authenticates_by_header_and_by_basic(
    client: TestClient, project_keys: ProjectKeys, auth_settings: Settings
) -> None:
    key_id = project_keys.add_key()
    secret = project_keys.secrets[key_id]

    by_header = whoami(client, {"X-Pulse-Key": secret})
    assert by_header.status_code == 200, by_header.text
    assert by_header.json() == expected(project_keys, key_id)

    by_basic = whoami(client, basic(key_id, secret))
    assert by_basic.status_code == 200, by_basic.text
    assert by_basic.json() == expected(project_keys, key_id)

    # The first request filled the cache, at the project's version, with a TTL.
    state = cached(auth_settings, project_keys, key_id)
    assert state is not None
    assert state.project_id == project_keys.project_id
    assert state.version == project_keys.load().version
    with SyncRedis.from_url(REDIS_URL) as redis:
        ttl = redis.ttl(cache_key(auth_settings.redis_key_prefix, project_keys.digest(key_id)))
        assert 0 < ttl <= auth_settings.api_key_cache_seconds


def test_wrong_and_malformed_keys_are_refused(
    client: TestClient, project_keys: ProjectKeys
) -> None:
    key_id = project_keys.add_key()
    other_id = project_keys.add_key()
    secret = project_keys.secrets[key_id]

    refused = [
        {"X-Pulse-Key": secret[:-1] + ("A" if secret[-1] != "A" else "B")},
        {"X-Pulse-Key": "sk_" + "x" * 43},
        {"X-Pulse-Key": "not-a-key"},
        {"X-Pulse-Key": "sk_" + "x" * 500},
        basic(other_id, secret),  # Another key's id with this secret.
        basic(new_key_id(), secret),
        basic("user", secret),
        {"Authorization": "Basic !!!not-base64"},
        basic(key_id, "not-a-secret"),
    ]
    for headers in refused:
        assert_key_refused(whoami(client, headers))


def test_without_credentials_whoami_challenges_both_schemes(client: TestClient) -> None:
    response = whoami(client, {})

    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="pulse"')
    assert 'Basic realm="pulse"' in challenge


def test_a_user_token_and_a_key_together_are_refused(
    client: TestClient, project_keys: ProjectKeys
) -> None:
    key_id = project_keys.add_key()
    session = sign_up(client)

    response = whoami(
        client, {**bearer(session["access_token"]), "X-Pulse-Key": project_keys.secrets[key_id]}
    )

    assert response.status_code == 401
    assert "not both" in response.json()["detail"]


def test_a_key_is_not_a_user(client: TestClient, project_keys: ProjectKeys) -> None:
    key_id = project_keys.add_key()

    response = client.get("/v1/auth/me", headers={"X-Pulse-Key": project_keys.secrets[key_id]})

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_key_is_refused_on_the_very_next_request(
    client: TestClient, project_keys: ProjectKeys, auth_settings: Settings
) -> None:
    key_id = project_keys.add_key()
    secret = project_keys.secrets[key_id]
    assert whoami(client, {"X-Pulse-Key": secret}).status_code == 200  # now cached as active

    project_keys.change(lambda project: project.revoke_key(key_id, utc_now(), CONTEXT))

    assert_key_refused(whoami(client, {"X-Pulse-Key": secret}))
    assert_key_refused(whoami(client, basic(key_id, secret)))
    state = cached(auth_settings, project_keys, key_id)
    assert state is not None
    assert state.revoked


def test_a_stale_answer_cannot_overwrite_a_newer_one(
    client: TestClient, project_keys: ProjectKeys, auth_settings: Settings
) -> None:
    key_id = project_keys.add_key()
    secret = project_keys.secrets[key_id]
    before = project_keys.load()
    stale = KeyState.of(before, before.keys[key_id])
    project_keys.change(lambda project: project.revoke_key(key_id, utc_now(), CONTEXT))

    # A request that read the project before the revocation finishes only now.
    written = run_with_redis(
        auth_settings,
        lambda redis: cache_key_state(
            redis,
            project_keys.digest(key_id),
            stale,
            key_prefix=auth_settings.redis_key_prefix,
            ttl_seconds=60,
        ),
    )

    assert not written
    assert_key_refused(whoami(client, {"X-Pulse-Key": secret}))


def test_without_a_cache_entry_the_event_store_decides(
    client: TestClient, project_keys: ProjectKeys, auth_settings: Settings
) -> None:
    key_id = project_keys.add_key()
    secret = project_keys.secrets[key_id]
    # Revoked without touching the cache, and nothing cached: the store is read.
    project = project_keys.load()
    project.revoke_key(key_id, utc_now(), CONTEXT)
    project_keys.app.save(project)

    assert_key_refused(whoami(client, {"X-Pulse-Key": secret}))
    state = cached(auth_settings, project_keys, key_id)
    assert state is not None
    assert state.revoked
    assert state.version == project.version


def test_a_deleted_projects_keys_are_refused(client: TestClient, project_keys: ProjectKeys) -> None:
    key_id = project_keys.add_key()
    secret = project_keys.secrets[key_id]
    assert whoami(client, {"X-Pulse-Key": secret}).status_code == 200

    project_keys.change(lambda project: project.delete(utc_now(), CONTEXT))

    assert_key_refused(whoami(client, {"X-Pulse-Key": secret}))


def test_a_key_unknown_to_the_aggregate_is_refused_even_if_the_read_model_lists_it(
    client: TestClient, project_keys: ProjectKeys
) -> None:
    # The read model points the way; only the aggregate can vouch for a key.
    key_id = new_key_id()
    project_keys.secrets[key_id] = "sk_" + "f" * 43
    project_keys.index(key_id)

    assert_key_refused(whoami(client, {"X-Pulse-Key": project_keys.secrets[key_id]}))


def test_a_rotated_key_works_during_its_grace_period_only(
    client: TestClient, project_keys: ProjectKeys
) -> None:
    old_id = project_keys.add_key()
    old_secret = project_keys.secrets[old_id]
    assert whoami(client, {"X-Pulse-Key": old_secret}).status_code == 200

    new_secret = digester_of(project_keys.settings).new_api_secret()
    new_id = new_key_id()
    grace_ends = utc_now() + timedelta(seconds=2)

    def rotate(project: Project) -> None:
        project.rotate_key(old_id, new_id, new_secret.digest, utc_now(), grace_ends, CONTEXT)

    project_keys.change(rotate)
    project_keys.secrets[new_id] = new_secret.token
    project_keys.index(new_id)

    assert whoami(client, {"X-Pulse-Key": old_secret}).status_code == 200
    assert whoami(client, basic(old_id, old_secret)).status_code == 200
    new = whoami(client, {"X-Pulse-Key": new_secret.token})
    assert new.status_code == 200
    assert new.json() == expected(project_keys, new_id)

    time.sleep(max(0.0, (grace_ends - utc_now()).total_seconds()) + 0.2)

    assert_key_refused(whoami(client, {"X-Pulse-Key": old_secret}))
    assert whoami(client, {"X-Pulse-Key": new_secret.token}).status_code == 200


def test_the_middleware_hooks_name_the_principal(
    client: TestClient, project_keys: ProjectKeys
) -> None:
    key_id = project_keys.add_key()
    secret = project_keys.secrets[key_id]
    session = sign_up(client)

    def hooks(headers: dict[str, str]) -> dict[str, Any]:
        response = client.get("/_test/hooks", headers=headers)
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    assert hooks({}) == {"idempotency_scope": None, "rate_limit_project": None}
    assert hooks(bearer(session["access_token"])) == {
        "idempotency_scope": f"user:{session['user']['id']}",
        "rate_limit_project": None,
    }
    key_scope = "key:" + hashlib.sha256(secret.encode()).hexdigest()
    # Not cached yet: the hook reads only the cache, so no project.
    assert hooks({"X-Pulse-Key": secret}) == {
        "idempotency_scope": key_scope,
        "rate_limit_project": None,
    }
    assert whoami(client, {"X-Pulse-Key": secret}).status_code == 200
    assert hooks({"X-Pulse-Key": secret}) == {
        "idempotency_scope": key_scope,
        "rate_limit_project": str(project_keys.project_id),
    }
    assert hooks(basic(key_id, secret)) == {
        "idempotency_scope": key_scope,
        "rate_limit_project": str(project_keys.project_id),
    }
    # A forged token still gets a scope of its own, never a user's or none.
    forged = hooks(bearer(session["access_token"] + "x"))
    assert forged["idempotency_scope"].startswith("credential:")
    assert forged["rate_limit_project"] is None

    project_keys.change(lambda project: project.revoke_key(key_id, utc_now(), CONTEXT))
    assert hooks({"X-Pulse-Key": secret})["rate_limit_project"] is None


@pytest.mark.parametrize(
    ("x_pulse_key", "authorization"),
    [
        (None, None),
        (None, "Bearer abc"),
        (None, "Digest abc"),
    ],
)
def test_no_key_is_presented(x_pulse_key: str | None, authorization: str | None) -> None:
    assert read_presented_key(x_pulse_key, authorization) is None


def test_a_presented_key_never_shows_its_secret() -> None:
    presented = read_presented_key("sk_" + "s" * 43, None)

    assert presented is not None
    assert "s" * 43 not in repr(presented)
    with pytest.raises(AuthenticationError):
        read_presented_key("pk_not_a_secret", None)


def test_a_key_indexed_by_the_real_projection_authenticates(
    client: TestClient, project_keys: ProjectKeys, auth_settings: Settings
) -> None:
    runner = pytest.importorskip("pulse.projections.runner")
    options = pytest.importorskip("pulse.projections.options")
    secret = digester_of(auth_settings).new_api_secret()
    key_id = new_key_id()
    project = project_keys.load()
    project.add_key(key_id, "default", secret.digest, utc_now(), CONTEXT)
    project_keys.app.save(project)

    with MongoClient[dict[str, Any]](MONGO_URI) as mongo:
        runner.catch_up_all(
            project_keys.app,
            mongo[auth_settings.mongo_database],
            auth_settings,
            options.ProjectionSettings(_env_file=None),
        )

    response = whoami(client, {"X-Pulse-Key": secret.token})
    assert response.status_code == 200, response.text
    assert response.json() == expected(project_keys, key_id)
