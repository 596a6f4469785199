"""A retried POST with the same Idempotency-Key creates exactly one object, also when
the two requests race."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from typing import Any

from redis import Redis

from tests.management.world import World


def project_names(world: World) -> list[str]:
    world.settle()
    listed = world.client.get(
        f"/v1/projects?organization_id={world.organization_a}&limit=100",
        headers=world.headers("owner"),
    )
    return [item["name"] for item in listed.json()["items"]]


def test_a_retried_create_replays_the_first_answer(world: World) -> None:
    name = f"retried-{uuid.uuid4().hex[:6]}"
    headers = {**world.headers("owner"), "Idempotency-Key": str(uuid.uuid4())}
    body = {"organization_id": str(world.organization_a), "name": name}

    first = world.client.post("/v1/projects", json=body, headers=headers)
    again = world.client.post("/v1/projects", json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # The same project and the same key secret.
    assert again.headers["idempotent-replayed"] == "true"
    assert project_names(world).count(name) == 1

    other = world.client.post("/v1/projects", json={**body, "name": "other"}, headers=headers)
    assert other.status_code == 422


def test_racing_creates_with_one_key_make_exactly_one_project(world: World) -> None:
    name = f"raced-{uuid.uuid4().hex[:6]}"
    headers = {**world.headers("owner"), "Idempotency-Key": str(uuid.uuid4())}
    body = {"organization_id": str(world.organization_a), "name": name}
    start = threading.Barrier(4)
    answers: list[Any] = []

    def create() -> None:
        start.wait()
        answers.append(world.client.post("/v1/projects", json=body, headers=headers))

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert [answer.status_code for answer in answers] == [201] * 4
    assert len({answer.json()["project"]["id"] for answer in answers}) == 1
    assert project_names(world).count(name) == 1


def test_the_kept_answer_does_not_expose_the_secrets_it_carries(world: World) -> None:
    """A replay returns the new key's secret again, so the answer is kept, but sealed:
    Redis holds nothing from which the secret could be read without the client's
    Idempotency-Key."""
    idempotency_key = str(uuid.uuid4())
    created = world.client.post(
        "/v1/projects",
        json={"organization_id": str(world.organization_a), "name": "sealed"},
        headers={**world.headers("owner"), "Idempotency-Key": idempotency_key},
    )
    secret = created.json()["key"]["secret"]

    redis = Redis.from_url(world.settings.redis_url)
    try:
        stored = [
            redis.get(name)
            for name in redis.scan_iter(match=f"{world.settings.redis_key_prefix}idempotency:*")
        ]
    finally:
        redis.close()
    assert stored
    for raw in stored:
        assert raw is not None
        record = json.loads(raw)
        assert idempotency_key not in raw.decode()
        assert secret.encode() not in raw
        assert secret.encode() not in base64.b64decode(record["response"])
