"""Replay over HTTP: every event since a time that the endpoint did not receive
successfully is sent to it (created, or resent with its webhook-id), nothing twice."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pulse.services import delivery_log
from tests.management.world import World
from tests.webhooks_out.test_delivery_log_world import (
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


def endpoint_path(project_id: uuid.UUID, endpoint: dict[str, Any]) -> str:
    return f"/v1/projects/{project_id}/webhooks/endpoints/{endpoint['id']}"


def replay(
    world: World, project_id: uuid.UUID, endpoint: dict[str, Any], since: Any, who: str = "admin"
) -> Any:
    return world.client.post(
        f"{endpoint_path(project_id, endpoint)}/replay",
        json={"since": since.isoformat() if isinstance(since, datetime) else since},
        headers=world.headers(who),
    )


def replayed(
    world: World, project_id: uuid.UUID, endpoint: dict[str, Any], since: datetime
) -> dict[str, Any]:
    response = replay(world, project_id, endpoint, since)
    assert response.status_code == 200, response.text
    counts: dict[str, Any] = response.json()
    return counts


def names(receiver: Receiver) -> list[str]:
    return [json.loads(body)["data"]["name"] for _, body in receiver.received]


def a_moment() -> datetime:
    """Now, strictly between what happened before and what happens after."""
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    return moment


def test_replay_sends_the_period_to_a_re_enabled_endpoint_and_nothing_twice(
    world: World, receiver: Receiver
) -> None:
    project_id = world.new_project()
    endpoint = create_endpoint(world, project_id, receiver.url)
    one = endpoint_path(project_id, endpoint)
    assert world.client.post(f"{one}/disable", headers=world.headers("owner")).is_success
    rename(world, project_id, "before")
    since = a_moment()
    rename(world, project_id, "during-1")
    rename(world, project_id, "during-2")
    deliver(world)
    assert receiver.received == []  # Disabled: the fan-out skipped it.
    assert world.client.post(f"{one}/enable", headers=world.headers("owner")).is_success

    counts = replayed(world, project_id, endpoint, since)

    assert counts == {
        "since": since.isoformat().replace("+00:00", "Z"),
        "events": 2,
        "created": 2,
        "resent": 0,
        "already_delivered": 0,
        "in_progress": 0,
    }
    # Before anything is sent (and before the read models know of them): no duplicate.
    racing = replayed(world, project_id, endpoint, since)
    assert (racing["created"], racing["in_progress"]) == (0, 2)
    run_worker(world)
    assert sorted(names(receiver)) == ["during-1", "during-2"]
    assert len(set(receiver.message_ids)) == 2

    # Again, and with the fan-out running too: nothing is sent a second time.
    again = replayed(world, project_id, endpoint, since)
    assert (again["events"], again["created"], again["resent"]) == (2, 0, 0)
    assert again["already_delivered"] == 2
    deliver(world)
    assert len(receiver.received) == 2
    log = world.client.get(f"{one}/deliveries", headers=world.headers("viewer")).json()
    assert log["total"] == 2
    assert {item["status"] for item in log["items"]} == {"succeeded"}


def test_replay_gives_an_endpoint_created_later_what_it_accepts_from_before(
    world: World, receiver: Receiver
) -> None:
    project_id = world.new_project()
    since = a_moment()
    rename(world, project_id, "history")
    deliver(world)
    endpoint = create_endpoint(world, project_id, receiver.url)
    # Filtered out: the replay respects the endpoint's event types.
    other = Receiver()
    try:
        filtered = create_endpoint(world, project_id, other.url, event_types=["api_key.revoked"])
        deliver(world)
        assert receiver.received == []  # The fan-out sends only what followed creation.

        counts = replayed(world, project_id, endpoint, since)
        nothing = replayed(world, project_id, filtered, since)
        run_worker(world)

        assert (counts["events"], counts["created"]) == (1, 1)
        assert (nothing["events"], nothing["created"]) == (0, 0)
        assert names(receiver) == ["history"]
        assert other.received == []
    finally:
        other.close()


def test_replay_resends_what_failed_with_its_webhook_id_and_leaves_what_succeeded(
    world: World,
) -> None:
    receiver = Receiver(codes=[500])
    try:
        project_id = world.new_project()
        endpoint = create_endpoint(world, project_id, receiver.url)
        since = a_moment()
        rename(world, project_id, "fails-first")
        deliver(world)
        [first_id] = receiver.message_ids

        counts = replayed(world, project_id, endpoint, since)
        run_worker(world)
        again = replayed(world, project_id, endpoint, since)

        assert (counts["created"], counts["resent"]) == (0, 1)
        assert receiver.message_ids == [first_id, first_id]
        assert (again["resent"], again["already_delivered"]) == (0, 1)
    finally:
        receiver.close()


def test_replay_is_refused_when_it_cannot_or_may_not_run(world: World, receiver: Receiver) -> None:
    project_id = world.new_project()
    endpoint = create_endpoint(world, project_id, receiver.url)
    now = datetime.now(UTC)

    too_old = replay(world, project_id, endpoint, now - timedelta(days=31))
    assert too_old.status_code == 422, too_old.text
    assert too_old.headers["content-type"] == "application/problem+json"
    naive = replay(world, project_id, endpoint, "2026-01-01T00:00:00")
    assert naive.status_code == 422, naive.text
    missing = world.client.post(
        f"{endpoint_path(project_id, endpoint)}/replay", json={}, headers=world.headers("admin")
    )
    assert missing.status_code == 422, missing.text
    for who in ("viewer", "developer"):
        assert replay(world, project_id, endpoint, now, who).status_code == 403
    one = endpoint_path(project_id, endpoint)
    assert world.client.post(f"{one}/disable", headers=world.headers("owner")).is_success
    disabled = replay(world, project_id, endpoint, now)
    assert disabled.status_code == 409, disabled.text
    assert replay(world, project_id, {"id": uuid.uuid4()}, now).status_code == 404


def test_the_log_position_found_by_time_never_starts_after_the_period(world: World) -> None:
    app = world.app
    upper = app.recorder.max_notification_id() or 0
    assert upper > 0
    assert delivery_log.first_position_at(app, datetime(2000, 1, 1, tzinfo=UTC), upper) == 1
    later = datetime.now(UTC) + timedelta(hours=1)
    assert delivery_log.first_position_at(app, later, upper) == upper + 1
    since = a_moment()
    first_after = upper + 1  # The rename's event: the first of the period.
    rename(world, world.project_a, "positioned")
    found = delivery_log.first_position_at(app, since, app.recorder.max_notification_id() or 0)
    assert 1 <= found <= first_after
