"""Isolation: one project cannot read, change, resend or replay another project's
endpoints or deliveries, whether the other project is in another organization or in
the same one; every such request is a 404, and lists show nothing of the other."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.management.world import World
from tests.webhooks_out.test_delivery_log_world import (
    Receiver,
    create_endpoint,
    deliver,
    receiver,
    rename,
    world,
)

__all__ = ["receiver", "world"]

# arq 0.28 closes its pool with redis' deprecated close(); not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")


@dataclass(frozen=True)
class Target:
    project_id: uuid.UUID
    endpoint_id: str
    delivery_id: str


def with_a_delivery(
    world: World, project_id: uuid.UUID, receiver: Receiver, name: str, who: str = "owner"
) -> Target:
    endpoint = create_endpoint(world, project_id, receiver.url, who=who)
    rename(world, project_id, name, who)
    deliver(world)
    log = world.client.get(
        f"/v1/projects/{project_id}/webhooks/endpoints/{endpoint['id']}/deliveries",
        headers=world.headers(who),
    ).json()
    [delivery] = log["items"]
    return Target(project_id, endpoint["id"], delivery["id"])


def every_route(project_id: uuid.UUID, endpoint_id: str, delivery_id: str) -> list[tuple[Any, ...]]:
    """(method, path, body) of every endpoint and delivery route naming these ids."""
    hooks = f"/v1/projects/{project_id}/webhooks"
    one = f"{hooks}/endpoints/{endpoint_id}"
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return [
        ("GET", one, None),
        ("PATCH", one, {"description": "taken over"}),
        ("POST", f"{one}/disable", None),
        ("POST", f"{one}/enable", None),
        ("POST", f"{one}/rotate-secret", {"grace_seconds": 0}),
        ("GET", f"{one}/deliveries", None),
        ("GET", f"{one}/stats", None),
        ("POST", f"{one}/replay", {"since": since}),
        ("GET", f"{hooks}/deliveries/{delivery_id}", None),
        ("POST", f"{hooks}/deliveries/{delivery_id}/resend", None),
        ("DELETE", one, None),
    ]


def assert_all_not_found(world: World, who: str, routes: list[tuple[Any, ...]]) -> None:
    for method, path, body in routes:
        response = world.client.request(method, path, json=body, headers=world.headers(who))
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def assert_untouched(world: World, target: Target, receiver: Receiver, sent: int) -> None:
    hooks = f"/v1/projects/{target.project_id}/webhooks"
    endpoint = world.client.get(
        f"{hooks}/endpoints/{target.endpoint_id}", headers=world.headers("owner")
    )
    assert endpoint.status_code == 200, endpoint.text
    assert endpoint.json()["enabled"] is True
    assert endpoint.json()["description"] == ""
    delivery = world.client.get(
        f"{hooks}/deliveries/{target.delivery_id}", headers=world.headers("owner")
    ).json()
    assert (delivery["status"], delivery["round"]) == ("succeeded", 1)
    assert len(receiver.received) == sent


def test_another_organization_gets_404_on_every_endpoint_and_delivery_route(
    world: World, receiver: Receiver
) -> None:
    target = with_a_delivery(world, world.project_a, receiver, "alpha-secret-name")
    own = Receiver()
    try:
        theirs = with_a_delivery(world, world.project_b, own, "bravo-name", "outsider")
        sent = len(receiver.received)

        # Through the victim's project, and through the outsider's own project.
        assert_all_not_found(
            world,
            "outsider",
            every_route(target.project_id, target.endpoint_id, target.delivery_id),
        )
        assert_all_not_found(
            world,
            "outsider",
            every_route(theirs.project_id, target.endpoint_id, target.delivery_id),
        )
        # And the other way round: organization A's owner cannot reach B's.
        assert_all_not_found(
            world, "owner", every_route(theirs.project_id, theirs.endpoint_id, theirs.delivery_id)
        )
        listed = world.client.get(
            f"/v1/projects/{target.project_id}/webhooks/endpoints",
            headers=world.headers("outsider"),
        )
        assert listed.status_code == 404, listed.text
        created = world.client.post(
            f"/v1/projects/{target.project_id}/webhooks/endpoints",
            json={"url": own.url},
            headers=world.headers("outsider"),
        )
        assert created.status_code == 404, created.text

        assert_untouched(world, target, receiver, sent)
        bravo = world.client.get(
            f"/v1/projects/{theirs.project_id}/webhooks/endpoints",
            headers=world.headers("outsider"),
        ).json()
        assert [item["id"] for item in bravo["items"]] == [theirs.endpoint_id]
    finally:
        own.close()


def test_a_project_cannot_reach_the_endpoints_or_deliveries_of_another_of_its_organization(
    world: World, receiver: Receiver
) -> None:
    first = with_a_delivery(world, world.new_project(), receiver, "first-project")
    other = Receiver()
    try:
        second = with_a_delivery(world, world.new_project(), other, "second-project")
        sent = len(receiver.received)

        # The owner may see both projects, but each id only under its own project.
        assert_all_not_found(
            world, "owner", every_route(second.project_id, first.endpoint_id, first.delivery_id)
        )
        assert_untouched(world, first, receiver, sent)

        hooks = f"/v1/projects/{second.project_id}/webhooks"
        endpoints = world.client.get(f"{hooks}/endpoints", headers=world.headers("viewer")).json()
        assert [item["id"] for item in endpoints["items"]] == [second.endpoint_id]
        log = world.client.get(
            f"{hooks}/endpoints/{second.endpoint_id}/deliveries", headers=world.headers("viewer")
        ).json()
        assert [item["id"] for item in log["items"]] == [second.delivery_id]
        stats = world.client.get(
            f"{hooks}/endpoints/{second.endpoint_id}/stats", headers=world.headers("viewer")
        ).json()
        assert (stats["total"], stats["attempts"]) == (1, 1)
        assert [body for _, body in other.received if b"first-project" in body] == []
    finally:
        other.close()
