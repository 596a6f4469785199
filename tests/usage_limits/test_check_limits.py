"""Checking limits on the real event store and read models: each alert once per
period, whatever the repeats; the alert list; the webhook to a loopback receiver."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.database import Database

from pulse.config import Settings
from pulse.domain.metering import Meter
from pulse.domain.plans import Plan
from pulse.domain.usage_alert import UsageAlert, usage_alert_id
from pulse.projections import usage, usage_alerts
from pulse.projections.collections import USAGE_ALERTS
from pulse.projections.model import Document
from pulse.projections.runner import catch_up
from pulse.projections.store import read_model_database
from pulse.services.application import PulseApplication
from pulse.services.usage_limits import CHECK_CONTEXT, check_all, check_limits, metered_projects
from pulse.services.webhook_catalog import event_id_of
from tests.conftest import SettingsFactory
from tests.projections.fixtures import migrated, pulse_app
from tests.usage_limits.usage_world import (
    MINUTE,
    change_plan,
    new_organization,
    new_project,
    put_month_usage,
    stay,
)
from tests.webhooks_out.receivers import Pipeline, loopback_client, new_endpoint, receiving

__all__ = ["migrated", "pulse_app"]

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings(
        webhook_allow_loopback=True, webhook_retry_schedule_seconds=[0], webhook_retry_jitter=0
    )


@pytest.fixture
def database(pulse_app: PulseApplication) -> Database[Document]:
    return read_model_database(pulse_app)


def alert_documents(
    app: PulseApplication, database: Database[Document], settings: Settings
) -> list[Document]:
    catch_up(usage_alerts.PROJECTION, app, database, settings)
    return sorted(database[USAGE_ALERTS].find({}), key=lambda d: (d["meter"], d["level"]))


def test_each_alert_is_raised_once_per_period(
    pulse_app: PulseApplication, database: Database[Document], settings: Settings
) -> None:
    organization = new_organization(pulse_app, Plan.FREE)
    project = new_project(pulse_app, organization.id)
    put_month_usage(database, project.id, NOW, {Meter.PARTICIPANT_MINUTES: 799 * MINUTE})

    quiet = check_limits(pulse_app, database, project.id, CHECK_CONTEXT, NOW)
    assert quiet.raised == []
    assert quiet.plan is Plan.FREE
    assert quiet.period == "2026-11"

    put_month_usage(database, project.id, NOW, {Meter.PARTICIPANT_MINUTES: 850 * MINUTE})
    first = check_limits(pulse_app, database, project.id, CHECK_CONTEXT, NOW)
    assert [(a.meter, a.level) for a in first.raised] == [("participant_minutes", "threshold")]
    (alert,) = first.raised
    assert (alert.percent, alert.used, alert.limit, alert.plan) == (
        "85.00",
        "850.000",
        "1000",
        "free",
    )
    again = check_limits(pulse_app, database, project.id, CHECK_CONTEXT, NOW)
    assert again.raised == []

    put_month_usage(
        database,
        project.id,
        NOW,
        {Meter.PARTICIPANT_MINUTES: 1000 * MINUTE, Meter.API_REQUESTS: 8_000},
    )
    crossed = check_limits(pulse_app, database, project.id, CHECK_CONTEXT, NOW)
    assert sorted((a.meter, a.level) for a in crossed.raised) == [
        ("api_requests", "threshold"),
        ("participant_minutes", "limit"),
    ]
    assert check_limits(pulse_app, database, project.id, CHECK_CONTEXT, NOW).raised == []

    # The next period starts afresh.
    next_month = NOW + timedelta(days=15)
    put_month_usage(database, project.id, next_month, {Meter.PARTICIPANT_MINUTES: 900 * MINUTE})
    december = check_limits(pulse_app, database, project.id, CHECK_CONTEXT, next_month)
    assert [(a.period, a.level) for a in december.raised] == [("2026-12", "threshold")]

    documents = alert_documents(pulse_app, database, settings)
    assert [(d["period"], d["meter"], d["level"]) for d in documents] == [
        ("2026-11", "api_requests", "threshold"),
        ("2026-11", "participant_minutes", "limit"),
        ("2026-11", "participant_minutes", "threshold"),
        ("2026-12", "participant_minutes", "threshold"),
    ]
    limit_doc = documents[1]
    assert limit_doc["_id"] == str(
        usage_alert_id(project.id, "2026-11", "participant_minutes", "limit")
    )
    assert limit_doc["project_id"] == str(project.id)
    assert limit_doc["organization_id"] == str(organization.id)
    assert (limit_doc["percent"], limit_doc["used"], limit_doc["limit"]) == (
        "100.00",
        "1000.000",
        "1000",
    )
    # Replaying the projection changes nothing.
    catch_up(usage_alerts.PROJECTION, pulse_app, database, settings)
    assert database[USAGE_ALERTS].count_documents({}) == 4


def test_alerts_follow_participant_stays_through_the_usage_projection(
    pulse_app: PulseApplication, database: Database[Document], settings: Settings
) -> None:
    """From events to alerts: stays become usage (the usage projection), usage alerts."""
    organization = new_organization(pulse_app, Plan.FREE)
    project = new_project(pulse_app, organization.id)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    # 800 minutes across many hour boundaries, from the first instant of the period.
    stay(pulse_app, project.id, start, start + timedelta(minutes=800))
    # Usage of the period before never counts in this one.
    stay(pulse_app, project.id, start - timedelta(minutes=500), start)
    catch_up(usage.PROJECTION, pulse_app, database, settings)

    first = check_limits(pulse_app, database, project.id, CHECK_CONTEXT, NOW)
    assert [(a.level, a.used, a.percent) for a in first.raised] == [
        ("threshold", "800.000", "80.00")
    ]
    stay(pulse_app, project.id, NOW, NOW + timedelta(minutes=199, seconds=59))
    catch_up(usage.PROJECTION, pulse_app, database, settings)
    assert check_limits(pulse_app, database, project.id, CHECK_CONTEXT, NOW).raised == []
    stay(pulse_app, project.id, NOW, NOW + timedelta(seconds=1))  # Exactly 1000 minutes.
    catch_up(usage.PROJECTION, pulse_app, database, settings)
    (limit,) = check_limits(pulse_app, database, project.id, CHECK_CONTEXT, NOW).raised
    assert (limit.level, limit.used, limit.percent) == ("limit", "1000.000", "100.00")


def test_a_pro_project_is_judged_by_pro_limits_and_enterprise_never_alerts(
    pulse_app: PulseApplication, database: Database[Document]
) -> None:
    organization = new_organization(pulse_app, Plan.FREE)
    project = new_project(pulse_app, organization.id)
    put_month_usage(database, project.id, NOW, {Meter.PARTICIPANT_MINUTES: 5_000 * MINUTE})
    change_plan(pulse_app, organization.id, Plan.PRO)  # Takes effect at once.
    assert check_limits(pulse_app, database, project.id, CHECK_CONTEXT, NOW).raised == []
    put_month_usage(database, project.id, NOW, {Meter.PARTICIPANT_MINUTES: 80_000 * MINUTE})
    pro = check_limits(pulse_app, database, project.id, CHECK_CONTEXT, NOW)
    assert [(a.level, a.limit, a.plan) for a in pro.raised] == [("threshold", "100000", "pro")]

    enterprise = new_organization(pulse_app, Plan.ENTERPRISE)
    big = new_project(pulse_app, enterprise.id)
    put_month_usage(database, big.id, NOW, {meter: 10**14 for meter in Meter})
    assert check_limits(pulse_app, database, big.id, CHECK_CONTEXT, NOW).raised == []


def test_the_minutely_check_covers_every_project_used_this_period(
    pulse_app: PulseApplication, database: Database[Document]
) -> None:
    organization = new_organization(pulse_app, Plan.FREE)
    busy = new_project(pulse_app, organization.id)
    quiet = new_project(pulse_app, organization.id)
    last_month = new_project(pulse_app, organization.id)
    put_month_usage(database, busy.id, NOW, {Meter.EGRESS_MINUTES: 100 * MINUTE})
    put_month_usage(database, quiet.id, NOW, {Meter.EGRESS_MINUTES: MINUTE})
    put_month_usage(
        database, last_month.id, NOW - timedelta(days=30), {Meter.EGRESS_MINUTES: 100 * MINUTE}
    )

    assert set(metered_projects(database, NOW)) == {busy.id, quiet.id}
    assert check_all(pulse_app, database, NOW) == 2  # Busy: threshold and limit.
    assert check_all(pulse_app, database, NOW) == 0
    alert = pulse_app.load(
        usage_alert_id(busy.id, "2026-11", "egress_minutes", "limit"), UsageAlert
    )
    assert alert.used == "100.000"


@pytest.mark.anyio
async def test_an_alert_is_delivered_once_as_a_webhook(
    pulse_app: PulseApplication, database: Database[Document], settings: Settings
) -> None:
    organization = new_organization(pulse_app, Plan.FREE)
    project = new_project(pulse_app, organization.id)
    other = new_project(pulse_app, organization.id)
    async with loopback_client(settings) as client:
        pipeline = Pipeline(pulse_app, settings, client)
        with receiving() as receiver:
            new_endpoint(pulse_app, settings, project.id, receiver.url, ["usage.alert_raised"])
            new_endpoint(pulse_app, settings, other.id, receiver.url)  # Another project's.
            put_month_usage(database, project.id, NOW, {Meter.PARTICIPANT_MINUTES: 800 * MINUTE})
            check_limits(pulse_app, database, project.id, CHECK_CONTEXT, NOW)
            check_limits(pulse_app, database, project.id, CHECK_CONTEXT, NOW)  # Nothing new.

            (delivery,) = pipeline.fan_out()
            assert pipeline.fan_out() == []
            final, _ = await pipeline.until_final(delivery.id)
            assert final.is_final
            (received,) = receiver.wait_for(1)
            body = json.loads(received.body)
    assert body["type"] == "usage.alert_raised"
    assert body["version"] == 1
    assert body["data"] == {
        "project_id": str(project.id),
        "period": "2026-11",
        "meter": "participant_minutes",
        "level": "threshold",
        "percent": "80.00",
        "used": "800.000",
        "limit": "1000",
        "plan": "free",
    }
    # Stable across replays: derived from the alert, which is one per period.
    alert_id = usage_alert_id(project.id, "2026-11", "participant_minutes", "threshold")
    assert body["id"] == str(event_id_of(alert_id, 1))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
