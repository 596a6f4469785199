"""Retry times follow the schedule within the jitter; signatures are Standard Webhooks'."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from pulse.config import Settings
from pulse.services.deliveries.queue import job_id
from pulse.services.deliveries.schedule import claim_seconds, next_attempt_at, retry_delay
from pulse.services.deliveries.signing import body_of, signed_headers
from pulse.services.webhook_secrets import new_secret

NOW = datetime.now(UTC)


def test_the_default_schedule_is_svix_like_and_ends(settings: Settings) -> None:
    schedule = settings.webhook_retry_schedule_seconds
    assert schedule == [5, 300, 1800, 7200, 18000, 36000, 36000]
    rng = random.Random(7)
    for attempt, delay in enumerate(schedule, start=1):
        for _ in range(50):
            at = next_attempt_at(settings, attempt, NOW, rng)
            assert at is not None
            assert delay * 0.8 <= (at - NOW).total_seconds() <= delay * 1.2
    assert next_attempt_at(settings, len(schedule) + 1, NOW) is None


def test_without_jitter_the_delays_are_exact() -> None:
    assert retry_delay([1, 2], 1, 0) == 1
    assert retry_delay([1, 2], 2, 0) == 2
    assert retry_delay([1, 2], 3, 0) is None


def test_a_claim_outlasts_the_request_deadline(settings: Settings) -> None:
    assert claim_seconds(settings) > settings.webhook_timeout_seconds


def test_job_ids_name_the_delivery_round_and_attempt() -> None:
    assert job_id("d", 2, 3) == "deliver:d:2:3"
    assert job_id("d", 1, 1, "swept:9") == "deliver:d:1:1:swept:9"


def test_every_secret_signs_and_each_verifies_alone() -> None:
    old, new = new_secret(), new_secret()
    body = body_of({"type": "t", "data": {"é": 1}})
    # Signed now: the library refuses timestamps over 5 min old (NOW is import time).
    headers = signed_headers([new, old], "msg_1", datetime.now(UTC) - timedelta(seconds=1), body)
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {"type": "t", "data": {"é": 1}}
    with pytest.raises(WebhookVerificationError, match="signature"):
        Webhook(new_secret()).verify(body, headers)  # A stranger's secret.
