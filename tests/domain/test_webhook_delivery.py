"""WebhookDelivery: claims, outcomes, expired claims, resends (no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pulse.domain.context import CommandContext
from pulse.domain.errors import InvariantError
from pulse.domain.webhook_delivery import DeliveryStatus, WebhookDelivery, delivery_id

CTX = CommandContext.system("test")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def delivery() -> WebhookDelivery:
    return WebhookDelivery(
        event_id=uuid.uuid4(),
        endpoint_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        event_type="project.updated",
        payload={"type": "project.updated"},
        occurred_at=T0,
        first_attempt_at=T0,
        context=CTX,
    )


def test_the_id_is_one_per_event_and_endpoint() -> None:
    made = delivery()
    assert made.id == delivery_id(made.event_id, made.endpoint_id)
    assert made.message_id == f"msg_{made.id.hex}"


def test_a_claim_is_needed_to_record_an_outcome_and_only_one_claim_at_a_time() -> None:
    made = delivery()
    with pytest.raises(InvariantError):
        made.succeed(1, T0, 200, 1.0, None, CTX)
    attempt = made.claim(T0, T0 + timedelta(seconds=20), CTX)
    assert (attempt, made.status) == (1, DeliveryStatus.SENDING)
    with pytest.raises(InvariantError):
        made.claim(T0 + timedelta(seconds=1), T0 + timedelta(seconds=21), CTX)
    made.fail_attempt(1, T0, 500, "answered 500", 3.0, None, T0 + timedelta(seconds=5), CTX)
    assert not made.is_due(T0 + timedelta(seconds=4))
    assert made.is_due(T0 + timedelta(seconds=5))


def test_an_expired_claim_counts_as_a_failed_attempt() -> None:
    made = delivery()
    made.claim(T0, T0 + timedelta(seconds=20), CTX)
    later = T0 + timedelta(seconds=21)
    assert made.is_due(later)
    assert made.claim(later, later + timedelta(seconds=20), CTX) == 2
    assert made.total_attempts == 2
    made.succeed(2, later, 200, 1.0, "ok", CTX)
    assert made.status is DeliveryStatus.SUCCEEDED
    assert not made.is_due(later + timedelta(days=1))


def test_a_resend_is_a_new_round_with_the_same_message_id() -> None:
    made = delivery()
    message_id = made.message_id
    made.claim(T0, T0 + timedelta(seconds=20), CTX)
    made.fail_attempt(1, T0, 410, "answered 410", 1.0, None, None, CTX)
    assert made.status is DeliveryStatus.FAILED
    made.resend(T0 + timedelta(hours=1), CTX)
    assert (made.round, made.attempts, made.total_attempts) == (2, 0, 1)
    assert made.status is DeliveryStatus.PENDING
    assert made.message_id == message_id
    with pytest.raises(InvariantError):
        made.resend(T0, CTX)


def test_abandoning_is_final_and_happens_once() -> None:
    made = delivery()
    assert made.abandon(T0, "endpoint deleted", CTX)
    assert made.status is DeliveryStatus.FAILED
    assert not made.abandon(T0, "endpoint deleted", CTX)
