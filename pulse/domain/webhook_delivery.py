"""WebhookDelivery: one event sent to one customer endpoint, with every attempt.

Its id is derived from (the event's id, the endpoint's id), so a fan-out that runs
again after a crash collides on the event store's unique key instead of creating a
second delivery: exactly one delivery per (event, endpoint). Its ``message_id`` (the
Standard Webhooks ``webhook-id``) is fixed at creation, so every attempt, resend and
replay of it carries the same id and receivers can de-duplicate.

An attempt is *claimed* (``AttemptStarted``, saved before anything is sent) and then
*recorded* (``AttemptSucceeded`` or ``AttemptFailed``). Two workers holding the same
delivery cannot both claim attempt ``n``: the second save conflicts on the
aggregate's version. A claim never recorded (a worker died mid-send) is recorded as
failed by whoever finds it expired, and the next attempt is sent with the same
``message_id``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.errors import InvariantError

_DELIVERY_NAMESPACE = UUID("0b7e2d4c-5a31-4f8e-9c6d-2e1f3a4b5c6d")


def delivery_id(event_id: UUID, endpoint_id: UUID) -> UUID:
    return uuid5(_DELIVERY_NAMESPACE, f"{event_id}:{endpoint_id}")


def message_id_of(delivery: UUID) -> str:
    """The ``webhook-id`` header: stable for the delivery's whole life."""
    return f"msg_{delivery.hex}"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    """Waiting for its next attempt (``next_attempt_at``)."""
    SENDING = "sending"
    """An attempt is claimed and not yet recorded."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """Every attempt of the schedule failed, or the endpoint is gone: kept, not retried."""


class WebhookDelivery(Aggregate):
    @staticmethod
    def create_id(event_id: UUID, endpoint_id: UUID) -> UUID:
        return delivery_id(event_id, endpoint_id)

    @event("Created")
    def __init__(
        self,
        event_id: UUID,
        endpoint_id: UUID,
        project_id: UUID,
        event_type: str,
        payload: dict[str, Any],
        occurred_at: datetime,
        first_attempt_at: datetime,
        context: CommandContext,
    ) -> None:
        self.event_id = event_id
        self.endpoint_id = endpoint_id
        self.project_id = project_id
        self.event_type = event_type
        self.payload = payload
        """The JSON body sent, exactly (Standard Webhooks: ``type``, ``timestamp``, ``data``)."""
        self.occurred_at = occurred_at
        self.status = DeliveryStatus.PENDING
        self.round = 1
        """Rounds of attempts: 1, plus one per resend (names the send jobs, see queue)."""
        self.attempts = 0
        """Attempts claimed so far, in this round (a resend starts a new round)."""
        self.total_attempts = 0
        self.next_attempt_at: datetime | None = first_attempt_at
        self.claimed_until: datetime | None = None
        self.last_status_code: int | None = None
        self.last_error: str | None = None
        self.succeeded_at: datetime | None = None
        self.failed_at: datetime | None = None

    @property
    def message_id(self) -> str:
        return message_id_of(self.id)

    @property
    def is_final(self) -> bool:
        return self.status in (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED)

    def is_due(self, now: datetime) -> bool:
        """An attempt should start now: pending and due, or a claim that expired."""
        if self.status is DeliveryStatus.PENDING:
            return self.next_attempt_at is not None and self.next_attempt_at <= now
        if self.status is DeliveryStatus.SENDING:
            return self.claimed_until is not None and self.claimed_until <= now
        return False

    def claim(self, at: datetime, until: datetime, context: CommandContext) -> int:
        """Claim the next attempt (returns its number, from 1); the caller then sends."""
        if not self.is_due(at):
            raise InvariantError(f"Delivery {self.id} has no attempt due")
        if self.status is DeliveryStatus.SENDING:
            # The previous claimant died mid-send: that attempt counts as failed.
            self._attempt_failed(
                attempt=self.attempts,
                at=at,
                status_code=None,
                error="no outcome recorded before the claim expired",
                latency_ms=None,
                response_body=None,
                next_attempt_at=at,
                context=context,
            )
        self._attempt_started(attempt=self.attempts + 1, at=at, until=until, context=context)
        return self.attempts

    @event("AttemptStarted")
    def _attempt_started(
        self, attempt: int, at: datetime, until: datetime, context: CommandContext
    ) -> None:
        self.attempts = attempt
        self.total_attempts += 1
        self.status = DeliveryStatus.SENDING
        self.claimed_until = until
        self.next_attempt_at = None

    def succeed(
        self,
        attempt: int,
        at: datetime,
        status_code: int,
        latency_ms: float,
        response_body: str | None,
        context: CommandContext,
    ) -> None:
        self._ensure_claimed(attempt)
        self._attempt_succeeded(attempt, at, status_code, latency_ms, response_body, context)

    @event("AttemptSucceeded")
    def _attempt_succeeded(
        self,
        attempt: int,
        at: datetime,
        status_code: int,
        latency_ms: float,
        response_body: str | None,
        context: CommandContext,
    ) -> None:
        self.status = DeliveryStatus.SUCCEEDED
        self.claimed_until = None
        self.last_status_code = status_code
        self.last_error = None
        self.succeeded_at = at

    def fail_attempt(
        self,
        attempt: int,
        at: datetime,
        status_code: int | None,
        error: str,
        latency_ms: float | None,
        response_body: str | None,
        next_attempt_at: datetime | None,
        context: CommandContext,
    ) -> None:
        """Record a failed attempt; ``next_attempt_at`` None means none is left."""
        self._ensure_claimed(attempt)
        self._attempt_failed(
            attempt, at, status_code, error, latency_ms, response_body, next_attempt_at, context
        )

    @event("AttemptFailed")
    def _attempt_failed(
        self,
        attempt: int,
        at: datetime,
        status_code: int | None,
        error: str,
        latency_ms: float | None,
        response_body: str | None,
        next_attempt_at: datetime | None,
        context: CommandContext,
    ) -> None:
        self.claimed_until = None
        self.last_status_code = status_code
        self.last_error = error
        self.next_attempt_at = next_attempt_at
        if next_attempt_at is None:
            self.status = DeliveryStatus.FAILED
            self.failed_at = at
        else:
            self.status = DeliveryStatus.PENDING

    def abandon(self, at: datetime, reason: str, context: CommandContext) -> bool:
        """Give up without sending (the endpoint was deleted or disabled); False if final."""
        if self.is_final:
            return False
        self._abandoned(at=at, reason=reason, context=context)
        return True

    @event("Abandoned")
    def _abandoned(self, at: datetime, reason: str, context: CommandContext) -> None:
        self.status = DeliveryStatus.FAILED
        self.claimed_until = None
        self.next_attempt_at = None
        self.last_error = reason
        self.failed_at = at

    def resend(self, at: datetime, context: CommandContext) -> None:
        """A new round of attempts, same ``message_id``; refused while one is running."""
        if not self.is_final:
            raise InvariantError("The delivery is still being attempted")
        self._resent(at=at, context=context)

    @event("Resent")
    def _resent(self, at: datetime, context: CommandContext) -> None:
        self.round += 1
        self.status = DeliveryStatus.PENDING
        self.attempts = 0
        self.next_attempt_at = at
        self.succeeded_at = None
        self.failed_at = None

    def _ensure_claimed(self, attempt: int) -> None:
        if self.status is not DeliveryStatus.SENDING or attempt != self.attempts:
            raise InvariantError(f"Attempt {attempt} of delivery {self.id} is not the claimed one")
