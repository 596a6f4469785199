"""Sending: signatures, retries, 410, timeouts, redirects, rotation, disabling, claims.

Each test runs the pipeline inline (``receivers.Pipeline``) against a real receiver on
127.0.0.1, on its own database, with a short retry schedule and no jitter.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from standardwebhooks.webhooks import Webhook

from pulse.config import Settings
from pulse.domain.webhook_delivery import DeliveryStatus, WebhookDelivery
from pulse.domain.webhook_endpoint import DisabledBy, WebhookEndpoint
from pulse.projections.collections import WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES
from pulse.queries.webhook_deliveries import attempts_of, endpoint_stats, list_deliveries
from pulse.services.application import PulseApplication
from pulse.services.deliveries.sender import Sender
from pulse.services.webhook_secrets import WebhookSecrets, new_secret
from tests.conftest import SettingsFactory
from tests.projections.fixtures import migrated, pulse_app
from tests.webhooks_out.receivers import (
    SETUP,
    Pipeline,
    loopback_client,
    new_endpoint,
    new_project,
    receiving,
    rename,
)

__all__ = ["migrated", "pulse_app"]

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings(
        webhook_allow_loopback=True,
        webhook_retry_schedule_seconds=[0, 0],
        webhook_retry_jitter=0,
        webhook_timeout_seconds=1.0,
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with loopback_client(settings) as made:
        yield made


@pytest.fixture
def pipeline(
    pulse_app: PulseApplication, settings: Settings, client: httpx.AsyncClient
) -> Pipeline:
    return Pipeline(pulse_app, settings, client)


@pytest.fixture
def project_id(pulse_app: PulseApplication) -> uuid.UUID:
    return new_project(pulse_app).id


def one_delivery(pipeline: Pipeline, project_id: uuid.UUID) -> WebhookDelivery:
    rename(pipeline.app, project_id, "renamed")
    created = pipeline.fan_out()
    assert len(created) == 1
    return created[0]


def verified(secret: str, body: bytes, headers: dict[str, str]) -> dict[str, object]:
    payload: dict[str, object] = Webhook(secret).verify(body, headers)
    return payload


async def test_a_delivery_verifies_with_the_reference_library(
    pipeline: Pipeline, settings: Settings, project_id: uuid.UUID
) -> None:
    with receiving() as receiver:
        endpoint, secret = new_endpoint(pipeline.app, settings, project_id, receiver.url)
        delivery = one_delivery(pipeline, project_id)

        final, results = await pipeline.until_final(delivery.id)

        assert results == ["sent"]
        assert final.status is DeliveryStatus.SUCCEEDED
        [request] = receiver.received
    payload = verified(secret, request.body, request.headers)
    assert payload["type"] == "project.updated"
    assert payload["version"] == 1
    assert payload["data"]["name"] == "renamed"  # type: ignore[index]
    assert str(payload["timestamp"]).endswith("Z")
    assert request.headers["webhook-id"] == delivery.message_id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Pulse-Webhooks/1"
    stamp = int(request.headers["webhook-timestamp"])
    assert abs(stamp - datetime.now(UTC).timestamp()) < 60
    document = pipeline.document(WEBHOOK_DELIVERIES, str(delivery.id))
    assert document is not None
    assert (document["status"], document["attempts"], document["last_status_code"]) == (
        "succeeded",
        1,
        200,
    )
    assert document["endpoint_id"] == str(endpoint.id)
    assert document["message_id"] == delivery.message_id
    attempt = pipeline.document(WEBHOOK_ATTEMPTS, f"{delivery.id}:1")
    assert attempt is not None
    assert (attempt["outcome"], attempt["status_code"]) == ("succeeded", 200)
    assert attempt["response_body"] == '{"answered":200}'
    assert attempt["latency_ms"] > 0


async def test_failing_twice_then_succeeding_is_one_delivery_with_one_webhook_id(
    pipeline: Pipeline, settings: Settings, project_id: uuid.UUID
) -> None:
    with receiving(codes=[500, 503]) as receiver:
        _, secret = new_endpoint(pipeline.app, settings, project_id, receiver.url)
        delivery = one_delivery(pipeline, project_id)

        final, results = await pipeline.until_final(delivery.id)

        received = list(receiver.received)
    assert results == ["failed", "failed", "sent"]
    assert final.status is DeliveryStatus.SUCCEEDED
    assert len(received) == 3
    assert {r.headers["webhook-id"] for r in received} == {delivery.message_id}
    for request in received:
        verified(secret, request.body, request.headers)
    assert len({r.body for r in received}) == 1  # The same bytes every time.
    attempts = [pipeline.document(WEBHOOK_ATTEMPTS, f"{delivery.id}:{n}") for n in (1, 2, 3)]
    assert [(a or {}).get("status_code") for a in attempts] == [500, 503, 200]
    assert [(a or {}).get("outcome") for a in attempts] == ["failed", "failed", "succeeded"]
    # One success ends the endpoint's failure streak.
    endpoint = pipeline.app.load(final.endpoint_id, WebhookEndpoint)
    assert endpoint.failing_since is None
    assert endpoint.enabled


async def test_after_the_last_attempt_the_delivery_is_failed_and_kept(
    pipeline: Pipeline, settings: Settings, project_id: uuid.UUID
) -> None:
    with receiving(default=500) as receiver:
        new_endpoint(pipeline.app, settings, project_id, receiver.url)
        delivery = one_delivery(pipeline, project_id)

        final, results = await pipeline.until_final(delivery.id)

        assert len(receiver.received) == 3  # The first attempt and the schedule's two.
    assert results == ["failed"] * 3
    assert final.status is DeliveryStatus.FAILED
    assert final.next_attempt_at is None
    document = pipeline.document(WEBHOOK_DELIVERIES, str(delivery.id))
    assert document is not None
    assert (document["status"], document["total_attempts"]) == ("failed", 3)
    assert document["failed_at"] is not None
    assert document["last_error"] == "answered 500"


async def test_410_gone_disables_the_endpoint(
    pipeline: Pipeline, settings: Settings, project_id: uuid.UUID
) -> None:
    with receiving(codes=[410]) as receiver:
        endpoint, _ = new_endpoint(pipeline.app, settings, project_id, receiver.url)
        delivery = one_delivery(pipeline, project_id)

        final, results = await pipeline.until_final(delivery.id)

        assert results == ["gone"]
        assert final.status is DeliveryStatus.FAILED
        assert len(receiver.received) == 1  # Not retried.
        disabled = pipeline.app.load(endpoint.id, WebhookEndpoint)
        assert not disabled.enabled
        assert disabled.disabled_by is DisabledBy.GONE
        # Later events are not sent to it.
        rename(pipeline.app, project_id)
        assert pipeline.fan_out() == []


async def test_a_slow_receiver_times_out_and_is_retried(
    pipeline: Pipeline, settings: Settings, project_id: uuid.UUID
) -> None:
    with receiving(delays=[3.0]) as receiver:
        new_endpoint(pipeline.app, settings, project_id, receiver.url)
        delivery = one_delivery(pipeline, project_id)

        started = asyncio.get_running_loop().time()
        first = await pipeline.send(delivery.id)
        took = asyncio.get_running_loop().time() - started
        final, results = await pipeline.until_final(delivery.id)

        received = receiver.wait_for(2)
    assert first.result == "failed"
    assert took < 2.5  # The 1 s deadline held, not the receiver's 3 s.
    assert results == ["sent"]
    assert final.status is DeliveryStatus.SUCCEEDED
    assert [r.headers["webhook-id"] for r in received] == [delivery.message_id] * 2
    attempt = pipeline.document(WEBHOOK_ATTEMPTS, f"{delivery.id}:1")
    assert attempt is not None
    assert attempt["outcome"] == "failed"
    assert "timed out" in attempt["error"]


async def test_redirects_are_not_followed(
    pipeline: Pipeline, settings: Settings, project_id: uuid.UUID
) -> None:
    with receiving(codes=[302]) as receiver:
        new_endpoint(pipeline.app, settings, project_id, receiver.url)
        delivery = one_delivery(pipeline, project_id)

        _final, results = await pipeline.until_final(delivery.id)

        paths = [r.path for r in receiver.received]
    assert results == ["failed", "sent"]
    assert paths == ["/hook", "/hook"]  # Never /redirected.
    attempt = pipeline.document(WEBHOOK_ATTEMPTS, f"{delivery.id}:1")
    assert attempt is not None
    assert attempt["status_code"] == 302
    assert "redirects are not followed" in attempt["error"]


async def test_during_a_rotation_grace_both_secrets_verify(
    pipeline: Pipeline, settings: Settings, project_id: uuid.UUID
) -> None:
    with receiving() as receiver:
        endpoint, old_secret = new_endpoint(pipeline.app, settings, project_id, receiver.url)
        new = new_secret()
        endpoint.rotate_secret(
            WebhookSecrets(settings).seal(new), datetime.now(UTC) + timedelta(hours=1), SETUP
        )
        pipeline.app.save(endpoint)
        delivery = one_delivery(pipeline, project_id)

        await pipeline.until_final(delivery.id)

        [request] = receiver.received
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verified(old_secret, request.body, request.headers)["id"]
    assert verified(new, request.body, request.headers)["id"]


async def test_an_endpoint_failing_longer_than_the_span_is_disabled(
    pulse_app: PulseApplication,
    settings: Settings,
    client: httpx.AsyncClient,
    project_id: uuid.UUID,
) -> None:
    # Below the setting's production minimum (60 s), so past its validation.
    short = settings.model_copy(
        update={"webhook_disable_after_seconds": 1, "webhook_retry_schedule_seconds": [2, 2]}
    )
    pipeline = Pipeline(pulse_app, short, client)
    with receiving(default=500) as receiver:
        endpoint, _ = new_endpoint(pulse_app, settings, project_id, receiver.url)
        other, _ = new_endpoint(pulse_app, settings, project_id, receiver.url + "/other")
        rename(pulse_app, project_id)
        first, _second = pipeline.fan_out()

        final, results = await pipeline.until_final(first.id)

    # 1st attempt starts the streak; the 2nd, 2 s later, finds it older than 1 s.
    assert results[:2] == ["failed", "failed"]
    assert results[2:] == ["abandoned"]
    assert final.status is DeliveryStatus.FAILED
    assert final.last_error == "endpoint disabled"
    disabled = pulse_app.load(first.endpoint_id, WebhookEndpoint)
    assert not disabled.enabled
    assert disabled.disabled_by is DisabledBy.FAILING
    # The management event customers hear about: sent to the project's other endpoint.
    notices = [d for d in pipeline.fan_out() if d.event_type == "webhook_endpoint.disabled"]
    assert [d.endpoint_id for d in notices] == [
        other.id if first.endpoint_id == endpoint.id else endpoint.id
    ]
    assert notices[0].payload["data"]["endpoint_id"] == str(first.endpoint_id)


async def test_a_deleted_endpoint_abandons_its_queued_deliveries(
    pipeline: Pipeline, settings: Settings, project_id: uuid.UUID
) -> None:
    with receiving() as receiver:
        endpoint, _ = new_endpoint(pipeline.app, settings, project_id, receiver.url)
        delivery = one_delivery(pipeline, project_id)
        endpoint.delete(SETUP)
        pipeline.app.save(endpoint)

        final, results = await pipeline.until_final(delivery.id)

        assert receiver.received == []
    assert results == ["abandoned"]
    assert final.status is DeliveryStatus.FAILED
    assert final.last_error == "endpoint deleted"
    document = pipeline.document(WEBHOOK_DELIVERIES, str(delivery.id))
    assert document is not None
    assert document["status"] == "failed"


async def test_a_forbidden_destination_is_a_failed_attempt_that_says_why(
    pulse_app: PulseApplication,
    settings: Settings,
    project_id: uuid.UUID,
    make_settings: SettingsFactory,
) -> None:
    strict = make_settings(webhook_retry_schedule_seconds=[0], webhook_retry_jitter=0)
    with receiving() as receiver:
        new_endpoint(pulse_app, settings, project_id, receiver.url)
        async with loopback_client(strict) as client:
            pipeline = Pipeline(pulse_app, strict, client)
            delivery = one_delivery(pipeline, project_id)

            final, results = await pipeline.until_final(delivery.id)

        assert receiver.received == []  # Refused before dialing.
    assert results == ["failed", "failed"]  # Retried per the schedule: DNS may change.
    assert final.status is DeliveryStatus.FAILED
    assert final.last_error is not None
    assert final.last_error.startswith("destination refused")
    assert "loopback" in final.last_error.lower()


async def test_two_workers_on_one_attempt_send_it_once(
    pipeline: Pipeline, settings: Settings, project_id: uuid.UUID, pulse_app: PulseApplication
) -> None:
    with receiving(delay=0.3) as receiver:
        new_endpoint(pulse_app, settings, project_id, receiver.url)
        delivery = one_delivery(pipeline, project_id)
        async with loopback_client(settings) as other_client:
            other = Sender(pulse_app, settings, other_client)

            results = await asyncio.gather(pipeline.send(delivery.id), other.send(delivery.id))

        assert sorted(r.result for r in results) == ["claimed_elsewhere", "sent"]
        assert len(receiver.wait_for(1)) == 1
        await asyncio.sleep(0.5)
        assert len(receiver.received) == 1


async def test_the_delivery_log_queries(
    pipeline: Pipeline, settings: Settings, project_id: uuid.UUID
) -> None:
    with receiving(codes=[500]) as receiver:
        endpoint, _ = new_endpoint(pipeline.app, settings, project_id, receiver.url)
        rename(pipeline.app, project_id)
        rename(pipeline.app, project_id)
        first, second = pipeline.fan_out()
        await pipeline.until_final(first.id)
        await pipeline.until_final(second.id)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    try:
        db = client[settings.mongo_database]
        project, endpoint_id = str(project_id), str(endpoint.id)

        page = await list_deliveries(db, project, endpoint_id, limit=1)
        rest = await list_deliveries(db, project, endpoint_id, limit=1, cursor=page.next_cursor)
        succeeded = await list_deliveries(db, project, endpoint_id, status="succeeded")
        attempts = await attempts_of(db, project, str(first.id))
        stats = await endpoint_stats(db, project, endpoint_id)
        elsewhere = await list_deliveries(db, str(uuid.uuid4()), endpoint_id)
        foreign_attempts = await attempts_of(db, str(uuid.uuid4()), str(first.id))
    finally:
        await client.close()

    assert page.total == 2
    assert {page.items[0]["_id"], rest.items[0]["_id"]} == {str(first.id), str(second.id)}
    assert succeeded.total == 2
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in attempts] == [
        (1, "failed", 500),
        (2, "succeeded", 200),
    ]
    assert stats["deliveries"] == {"pending": 0, "sending": 0, "succeeded": 2, "failed": 0}
    assert stats["success_rate"] == 1.0
    assert stats["attempts"] == 3
    assert stats["latency_ms_p50"] is not None
    assert stats["last_success_at"] is not None
    assert stats["last_failure_at"] is not None
    assert (elsewhere.total, foreign_attempts) == (0, [])


async def test_a_secret_that_cannot_be_opened_is_a_failed_attempt_not_a_stuck_claim(
    pipeline: Pipeline, project_id: uuid.UUID, make_settings: SettingsFactory
) -> None:
    other_key = make_settings(storage_secrets_key=base64.b64encode(bytes(32)).decode())
    with receiving() as receiver:
        new_endpoint(pipeline.app, other_key, project_id, receiver.url)
        delivery = one_delivery(pipeline, project_id)

        final, results = await pipeline.until_final(delivery.id)

        assert receiver.received == []
    assert results == ["failed"] * 3
    assert final.status is DeliveryStatus.FAILED
    assert final.last_error is not None
    assert final.last_error.startswith("could not sign")
