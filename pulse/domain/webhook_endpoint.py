"""WebhookEndpoint: where a project wants its events sent, and how to sign them.

The signing secret must be usable for every delivery, so the aggregate keeps it
*sealed* (encrypted by the service; opaque here) rather than as a digest. During a
rotation's grace period deliveries are signed with both the new and the previous
secret (Standard Webhooks allows several signatures in one header).

The disable clock is event-sourced, so it survives restarts: the first failure after
a success starts a failure streak (``FailureStreakStarted``), a success ends it
(``FailureStreakEnded``); nothing is recorded for the failures in between. An
endpoint whose streak has lasted longer than the configured span is disabled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.errors import DeletedError, InvalidValueError

MAX_EVENT_TYPES = 100


class DisabledBy(StrEnum):
    USER = "user"
    GONE = "gone"
    """The endpoint answered ``410 Gone``."""
    FAILING = "failing"
    """Every delivery failed for longer than the configured span."""


def check_event_types(event_types: Sequence[str], known: Sequence[str]) -> list[str]:
    """The filter, de-duplicated and sorted; an empty filter means every event type."""
    unknown = sorted(set(event_types) - set(known))
    if unknown:
        raise InvalidValueError(f"Unknown event types: {', '.join(unknown)}")
    if len(set(event_types)) > MAX_EVENT_TYPES:
        raise InvalidValueError(f"At most {MAX_EVENT_TYPES} event types")
    return sorted(set(event_types))


class WebhookEndpoint(Aggregate):
    @staticmethod
    def create_id(aggregate_id: UUID) -> UUID:
        return aggregate_id

    @event("Created")
    def __init__(
        self,
        aggregate_id: UUID,
        project_id: UUID,
        url: str,
        description: str,
        event_types: list[str],
        sealed_secret: str,
        context: CommandContext,
    ) -> None:
        self.project_id = project_id
        self.url = url
        self.description = description
        self.event_types = list(event_types)
        self.sealed_secret = sealed_secret
        self.previous_sealed_secret: str | None = None
        self.previous_secret_expires_at: datetime | None = None
        self.enabled = True
        self.disabled_by: DisabledBy | None = None
        self.disabled_reason: str | None = None
        self.failing_since: datetime | None = None
        self.deleted = False

    def accepts(self, event_type: str) -> bool:
        """Whether an event of this type goes to this endpoint now."""
        return (
            not self.deleted
            and self.enabled
            and (not self.event_types or event_type in self.event_types)
        )

    def signing_secrets(self, now: datetime) -> list[str]:
        """Sealed secrets to sign with now: the current one, and the previous in its grace."""
        secrets = [self.sealed_secret]
        expires = self.previous_secret_expires_at
        if self.previous_sealed_secret and expires is not None and now < expires:
            secrets.append(self.previous_sealed_secret)
        return secrets

    def update(self, changes: dict[str, Any], context: CommandContext) -> bool:
        """Change ``url``, ``description`` or ``event_types``; False if nothing changes."""
        self._ensure_not_deleted()
        allowed = {"url", "description", "event_types"}
        if set(changes) - allowed:
            raise InvalidValueError(f"Only {', '.join(sorted(allowed))} can be updated")
        effective = {name: value for name, value in changes.items() if getattr(self, name) != value}
        if not effective:
            return False
        self._updated(changes=effective, context=context)
        return True

    @event("Updated")
    def _updated(self, changes: dict[str, Any], context: CommandContext) -> None:
        for name, value in changes.items():
            setattr(self, name, list(value) if name == "event_types" else value)

    def enable(self, context: CommandContext) -> bool:
        """Enable again (also after an automatic disable: the failure streak restarts)."""
        self._ensure_not_deleted()
        if self.enabled:
            return False
        self._enabled(context=context)
        return True

    @event("Enabled")
    def _enabled(self, context: CommandContext) -> None:
        self.enabled = True
        self.disabled_by = None
        self.disabled_reason = None
        self.failing_since = None

    def disable(self, by: DisabledBy, reason: str, at: datetime, context: CommandContext) -> bool:
        self._ensure_not_deleted()
        if not self.enabled:
            return False
        self._disabled(by=str(by), reason=reason, at=at, context=context)
        return True

    @event("Disabled")
    def _disabled(self, by: str, reason: str, at: datetime, context: CommandContext) -> None:
        self.enabled = False
        self.disabled_by = DisabledBy(by)
        self.disabled_reason = reason

    def rotate_secret(
        self, sealed_secret: str, grace_until: datetime | None, context: CommandContext
    ) -> None:
        """A new secret; the old one also signs until ``grace_until`` (None: not at all)."""
        self._ensure_not_deleted()
        self._secret_rotated(
            sealed_secret=sealed_secret,
            previous_sealed_secret=self.sealed_secret,
            previous_expires_at=grace_until,
            context=context,
        )

    @event("SecretRotated")
    def _secret_rotated(
        self,
        sealed_secret: str,
        previous_sealed_secret: str,
        previous_expires_at: datetime | None,
        context: CommandContext,
    ) -> None:
        self.sealed_secret = sealed_secret
        self.previous_sealed_secret = previous_sealed_secret if previous_expires_at else None
        self.previous_secret_expires_at = previous_expires_at

    def record_failure(self, at: datetime, context: CommandContext) -> bool:
        """A delivery attempt failed; True if this started a failure streak."""
        if self.deleted or self.failing_since is not None:
            return False
        self._failure_streak_started(at=at, context=context)
        return True

    @event("FailureStreakStarted")
    def _failure_streak_started(self, at: datetime, context: CommandContext) -> None:
        self.failing_since = at

    def record_success(self, at: datetime, context: CommandContext) -> bool:
        """A delivery attempt succeeded; True if this ended a failure streak."""
        if self.deleted or self.failing_since is None:
            return False
        self._failure_streak_ended(at=at, context=context)
        return True

    @event("FailureStreakEnded")
    def _failure_streak_ended(self, at: datetime, context: CommandContext) -> None:
        self.failing_since = None

    def failing_longer_than(self, seconds: float, now: datetime) -> bool:
        since = self.failing_since
        return since is not None and (now - since).total_seconds() > seconds

    def delete(self, context: CommandContext) -> None:
        self._ensure_not_deleted()
        self._deleted(context=context)

    @event("Deleted")
    def _deleted(self, context: CommandContext) -> None:
        self.deleted = True
        self.enabled = False

    def _ensure_not_deleted(self) -> None:
        if self.deleted:
            raise DeletedError(f"Webhook endpoint {self.id} is deleted")
