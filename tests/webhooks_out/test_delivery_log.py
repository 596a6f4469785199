"""The delivery log over HTTP: deliveries and attempts (status, code, latency, truncated
answer), per-endpoint stats, and resend, with a real receiver on 127.0.0.1 and a real
arq worker doing the fan-out and the sending."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.management.world import World
from tests.webhooks_out.test_delivery_log_world import (
    BODY_LIMIT,
    Receiver,
    create_endpoint,
    deliver,
    receiver,
    rename,
    run_worker,
    world,
)

__all__ = ["receiver", "world"]

# arq 0.28 closes its pool with redis' deprecated close(); not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")


def hooks(project_id: uuid.UUID) -> str:
    return f"/v1/projects/{project_id}/webhooks"


def get(world: World, path: str, who: str = "viewer", **params: Any) -> dict[str, Any]:
    response = world.client.get(path, params=params, headers=world.headers(who))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_the_log_shows_each_delivery_and_attempt_with_code_latency_and_a_truncated_answer(
    world: World, receiver: Receiver
) -> None:
    project_id = world.new_project()
    endpoint = create_endpoint(world, project_id, receiver.url)
    rename(world, project_id, "log-renamed")

    deliver(world)

    [message_id] = receiver.message_ids
    page = get(world, f"{hooks(project_id)}/endpoints/{endpoint['id']}/deliveries")
    assert page["total"] == 1
    [item] = page["items"]
    assert item["status"] == "succeeded"
    assert item["event_type"] == "project.updated"
    assert item["message_id"] == message_id
    assert (item["attempts"], item["total_attempts"], item["last_status_code"]) == (1, 1, 200)
    assert item["succeeded_at"] is not None

    # Every role of the organization reads the log.
    detail = get(world, f"{hooks(project_id)}/deliveries/{item['id']}")
    assert detail["payload"]["type"] == "project.updated"
    assert detail["payload"]["data"]["name"] == "log-renamed"
    [attempt] = detail["attempt_log"]
    assert (attempt["attempt"], attempt["outcome"], attempt["status_code"]) == (1, "succeeded", 200)
    assert attempt["latency_ms"] > 0
    assert attempt["error"] is None
    # As times, not strings: a whole second is written without a fraction.
    started, finished = (datetime.fromisoformat(attempt[k]) for k in ("started_at", "finished_at"))
    assert started <= finished
    # The receiver answered more than the configured limit: the log keeps the start.
    assert attempt["response_body"].startswith("answer 0 with 200: xxx")
    assert len(attempt["response_body"]) == BODY_LIMIT


def test_a_failed_delivery_is_resent_with_the_same_webhook_id_by_owners_and_admins_only(
    world: World,
) -> None:
    receiver = Receiver(codes=[500])
    try:
        project_id = world.new_project()
        endpoint = create_endpoint(world, project_id, receiver.url)
        rename(world, project_id, "resend-me")
        deliver(world)
        log = f"{hooks(project_id)}/endpoints/{endpoint['id']}/deliveries"
        [failed] = get(world, log, status="failed")["items"]
        assert get(world, log, status="succeeded")["items"] == []
        detail = get(world, f"{hooks(project_id)}/deliveries/{failed['id']}")
        [attempt] = detail["attempt_log"]
        assert (attempt["outcome"], attempt["status_code"]) == ("failed", 500)
        assert "500" in attempt["error"]
        assert attempt["response_body"].startswith("answer 0 with 500")

        resend = f"{hooks(project_id)}/deliveries/{failed['id']}/resend"
        for who in ("viewer", "developer"):
            refused = world.client.post(resend, headers=world.headers(who))
            assert refused.status_code == 403, refused.text
        resent = world.client.post(resend, headers=world.headers("admin"))
        assert resent.status_code == 200, resent.text
        assert (resent.json()["status"], resent.json()["round"]) == ("pending", 2)
        assert resent.json()["message_id"] == failed["message_id"]
        # Once is enough: a delivery being attempted is not resent again.
        again = world.client.post(resend, headers=world.headers("owner"))
        assert again.status_code == 409, again.text
        assert again.headers["content-type"] == "application/problem+json"

        run_worker(world)  # The job the resend enqueued.

        assert receiver.message_ids == [failed["message_id"], failed["message_id"]]
        detail = get(world, f"{hooks(project_id)}/deliveries/{failed['id']}")
        assert (detail["status"], detail["total_attempts"]) == ("succeeded", 2)
        assert [a["status_code"] for a in detail["attempt_log"]] == [500, 200]
    finally:
        receiver.close()


def test_a_delivery_to_a_disabled_endpoint_is_not_resent(world: World) -> None:
    receiver = Receiver(codes=[500])
    try:
        project_id = world.new_project()
        endpoint = create_endpoint(world, project_id, receiver.url)
        rename(world, project_id, "disabled-later")
        deliver(world)
        one = f"{hooks(project_id)}/endpoints/{endpoint['id']}"
        [failed] = get(world, f"{one}/deliveries")["items"]
        assert world.client.post(f"{one}/disable", headers=world.headers("owner")).is_success

        refused = world.client.post(
            f"{hooks(project_id)}/deliveries/{failed['id']}/resend", headers=world.headers("owner")
        )

        assert refused.status_code == 409, refused.text
        assert "disabled" in refused.json()["detail"]
        assert len(receiver.received) == 1
    finally:
        receiver.close()


def test_stats_and_the_list_page_by_status_with_a_cursor(world: World) -> None:
    receiver = Receiver(codes=[200, 500])
    try:
        project_id = world.new_project()
        endpoint = create_endpoint(world, project_id, receiver.url)
        rename(world, project_id, "first")
        rename(world, project_id, "second")
        deliver(world)
        one = f"{hooks(project_id)}/endpoints/{endpoint['id']}"

        stats = get(world, f"{one}/stats")
        assert stats["endpoint_id"] == endpoint["id"]
        assert stats["total"] == 2
        assert stats["by_status"]["succeeded"] == 1
        assert stats["by_status"]["failed"] == 1
        assert stats["success_rate"] == 0.5
        assert stats["attempts"] == 2
        assert stats["latency_ms"]["p50"] > 0
        assert stats["latency_ms"]["p99"] >= stats["latency_ms"]["p50"]
        assert stats["last_success_at"] is not None
        assert stats["last_failure_at"] is not None

        first = get(world, f"{one}/deliveries", limit=1)
        assert (first["total"], len(first["items"])) == (2, 1)
        assert first["next_cursor"]
        second = get(world, f"{one}/deliveries", limit=1, cursor=first["next_cursor"])
        assert second["next_cursor"] is None
        assert {first["items"][0]["id"], second["items"][0]["id"]} == {
            item["id"] for item in get(world, f"{one}/deliveries")["items"]
        }
        assert get(world, f"{one}/deliveries", status="failed")["total"] == 1
        bogus = world.client.get(
            f"{one}/deliveries", params={"status": "lost"}, headers=world.headers("viewer")
        )
        assert bogus.status_code == 422, bogus.text
    finally:
        receiver.close()


def test_an_endpoint_without_deliveries_has_empty_stats(world: World, receiver: Receiver) -> None:
    project_id = world.new_project()
    endpoint = create_endpoint(world, project_id, receiver.url)

    stats = get(world, f"{hooks(project_id)}/endpoints/{endpoint['id']}/stats")

    assert (stats["total"], stats["success_rate"], stats["attempts"]) == (0, None, 0)
    assert stats["latency_ms"] == {"p50": None, "p99": None}
    unknown = world.client.get(
        f"{hooks(project_id)}/deliveries/{uuid.uuid4()}", headers=world.headers("viewer")
    )
    assert unknown.status_code == 404, unknown.text
