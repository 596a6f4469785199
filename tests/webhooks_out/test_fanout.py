"""The fan-out: one delivery per (event, endpoint), whatever the restarts."""

from __future__ import annotations

import uuid

import pytest
from pymongo.database import Database

from pulse.config import Settings
from pulse.domain.member import Member
from pulse.domain.webhook_endpoint import DisabledBy
from pulse.projections.collections import WEBHOOK_DELIVERIES
from pulse.projections.model import Document
from pulse.projections.registry import projection_named
from pulse.projections.runner import catch_up, catch_up_all
from pulse.projections.store import read_model_database, tracking_recorder
from pulse.services.application import PulseApplication
from pulse.services.deliveries.fanout import FANOUT, fan_out, new_delivery
from pulse.services.webhook_catalog import customer_events_of, loader_of
from tests.conftest import SettingsFactory
from tests.projections.fixtures import migrated, pulse_app
from tests.webhooks_out.receivers import SETUP, new_endpoint, new_project, rename

__all__ = ["migrated", "pulse_app"]

URL = "http://127.0.0.1:9/hook"  # Never called: these tests only fan out.


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings(webhook_allow_loopback=True)


def settle(app: PulseApplication, settings: Settings) -> Database[Document]:
    database = read_model_database(app)
    catch_up_all(app, database, settings)
    return database


def delivery_pairs(database: Database[Document]) -> list[tuple[str, str]]:
    return sorted(
        (document["event_type"], document["endpoint_id"])
        for document in database[WEBHOOK_DELIVERIES].find({})
    )


def test_one_delivery_per_matching_endpoint(
    pulse_app: PulseApplication, settings: Settings
) -> None:
    project = new_project(pulse_app)
    elsewhere = new_project(pulse_app)
    every, _ = new_endpoint(pulse_app, settings, project.id, URL)
    renames, _ = new_endpoint(pulse_app, settings, project.id, URL, ["project.updated"])
    new_endpoint(pulse_app, settings, project.id, URL, ["room_started"])  # Filtered out.
    new_endpoint(pulse_app, settings, elsewhere.id, URL)  # Another project's.
    off, _ = new_endpoint(pulse_app, settings, project.id, URL)
    off.disable(DisabledBy.USER, "paused", off.created_on, SETUP)
    pulse_app.save(off)
    rename(pulse_app, project.id)
    database = settle(pulse_app, settings)

    result = fan_out(pulse_app, database, settings)

    renamed = [d for d in result.created if d.event_type == "project.updated"]
    assert sorted(str(d.endpoint_id) for d in renamed) == sorted([str(every.id), str(renames.id)])
    assert {d.project_id for d in result.created} == {project.id}
    # Disabling ``off`` is itself an event, heard by the endpoint that takes every type.
    notices = [d for d in result.created if d.event_type == "webhook_endpoint.disabled"]
    assert [d.endpoint_id for d in notices] == [every.id]
    settle(pulse_app, settings)
    assert len(delivery_pairs(database)) == 3


def test_a_restarted_fan_out_creates_no_second_delivery(
    pulse_app: PulseApplication, settings: Settings
) -> None:
    project = new_project(pulse_app)
    first, _ = new_endpoint(pulse_app, settings, project.id, URL)
    new_endpoint(pulse_app, settings, project.id, URL)
    for _ in range(3):
        rename(pulse_app, project.id)
    database = settle(pulse_app, settings)
    # A fan-out that died mid-page: it saved the first event's deliveries, and
    # recorded no position.
    [event] = customer_events_of(
        pulse_app.mapper.to_domain_event(
            next(
                n
                for n in pulse_app.recorder.select_notifications(1, 1000)
                if n.topic.endswith("Project.Updated")
            )
        ),
        loader_of(pulse_app),
    )
    pulse_app.save(new_delivery(event, first.id, project.id, event.occurred_at, SETUP))

    result = fan_out(pulse_app, database, settings)

    assert len(result.created) == 3 * 2 - 1  # All but the one saved before the crash.
    # Run again from the start, as after losing the recorded position.
    tracking_recorder(pulse_app, settings).forget(FANOUT)
    again = fan_out(pulse_app, database, settings)
    assert again.events == 3
    assert again.created == []
    settle(pulse_app, settings)
    pairs = delivery_pairs(database)
    assert len(pairs) == 6
    assert len(set(database[WEBHOOK_DELIVERIES].distinct("_id"))) == 6


def test_the_fan_out_waits_for_the_endpoints_projection(
    pulse_app: PulseApplication, settings: Settings
) -> None:
    project = new_project(pulse_app)
    database = settle(pulse_app, settings)
    new_endpoint(pulse_app, settings, project.id, URL)
    rename(pulse_app, project.id)

    # The endpoints read model does not know the endpoint yet: matching now would
    # miss it, so the fan-out does not read past what the read model reflects.
    early = fan_out(pulse_app, database, settings)
    settle(pulse_app, settings)
    late = fan_out(pulse_app, database, settings)

    assert early.created == []
    assert early.events == 0
    assert len(late.created) == 1


def test_an_endpoint_gets_no_event_from_before_it_existed(
    pulse_app: PulseApplication, settings: Settings
) -> None:
    project = new_project(pulse_app)
    rename(pulse_app, project.id)
    new_endpoint(pulse_app, settings, project.id, URL)
    database = settle(pulse_app, settings)

    result = fan_out(pulse_app, database, settings)

    assert result.events == 1
    assert result.created == []


def test_organization_events_go_to_every_project_of_the_organization(
    pulse_app: PulseApplication, settings: Settings
) -> None:
    one = new_project(pulse_app)
    organization_id = one.organization_id
    two = new_project(pulse_app, organization_id)
    gone = new_project(pulse_app, organization_id)
    gone.delete(gone.created_on, SETUP)
    pulse_app.save(gone)
    outsider = new_project(pulse_app)
    endpoints = {
        name: new_endpoint(pulse_app, settings, project.id, URL)[0].id
        for name, project in (("one", one), ("two", two), ("gone", gone), ("out", outsider))
        if name != "gone"
    }
    member = Member(
        organization_id=organization_id,
        user_id=uuid.uuid4(),
        email="new@example.com",
        role="viewer",
        context=SETUP,
    )
    pulse_app.save(member)
    database = settle(pulse_app, settings)

    result = fan_out(pulse_app, database, settings)

    assert {d.event_type for d in result.created} == {"member.added"}
    assert sorted(str(d.endpoint_id) for d in result.created) == sorted(
        [str(endpoints["one"]), str(endpoints["two"])]
    )
    assert {d.payload["data"]["email"] for d in result.created} == {"new@example.com"}


def test_an_organization_event_waits_for_the_projects_projection(
    pulse_app: PulseApplication, settings: Settings
) -> None:
    project = new_project(pulse_app)
    endpoint, _ = new_endpoint(pulse_app, settings, project.id, URL)
    database = settle(pulse_app, settings)
    rename(pulse_app, project.id)  # A project's event: needs only the endpoints.
    pulse_app.save(
        Member(
            organization_id=project.organization_id,
            user_id=uuid.uuid4(),
            email="late@example.com",
            role="viewer",
            context=SETUP,
        )
    )
    catch_up(projection_named("webhook_endpoints"), pulse_app, database, settings)

    early = fan_out(pulse_app, database, settings)
    settle(pulse_app, settings)
    late = fan_out(pulse_app, database, settings)

    assert [d.event_type for d in early.created] == ["project.updated"]
    assert [(d.event_type, d.endpoint_id) for d in late.created] == [("member.added", endpoint.id)]
