"""Commands racing on one aggregate: every one lands once, none is lost or doubled."""

from __future__ import annotations

import threading
from typing import Any

from tests.management.world import World


def test_projects_created_at_once_in_one_organization_all_land(world: World) -> None:
    organization = world.create_organization("owner", "Busy Co")
    start = threading.Barrier(8)
    answers: list[Any] = []

    def create(n: int) -> None:
        start.wait()
        answers.append(world.create_project_response("owner", organization, f"busy-{n}"))

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(answer.status_code for answer in answers) == [201] * 8
    ids = {answer.json()["project"]["id"] for answer in answers}
    assert len(ids) == 8
    world.settle()
    listed = world.client.get(
        f"/v1/projects?organization_id={organization}&limit=100", headers=world.headers("owner")
    ).json()
    assert {item["id"] for item in listed["items"]} == ids
