"""WebhookEndpoint: filter, secrets during a rotation, enable/disable, failure streak."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.errors import DeletedError, InvalidValueError
from pulse.domain.webhook_endpoint import DisabledBy, WebhookEndpoint, check_event_types

CTX = CommandContext(ActorKind.USER, "user-1")
AT = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)


def endpoint(event_types: list[str] | None = None) -> WebhookEndpoint:
    return WebhookEndpoint(
        aggregate_id=uuid4(),
        project_id=uuid4(),
        url="https://hooks.example.com/x",
        description="",
        event_types=event_types or [],
        sealed_secret="sealed-1",
        context=CTX,
    )


def test_an_empty_filter_accepts_everything_and_a_filter_only_its_types() -> None:
    assert endpoint().accepts("room_started")
    filtered = endpoint(["room_ended"])
    assert filtered.accepts("room_ended")
    assert not filtered.accepts("room_started")


def test_the_filter_is_checked_against_the_known_types() -> None:
    assert check_event_types(["b", "a", "b"], ["a", "b"]) == ["a", "b"]
    with pytest.raises(InvalidValueError, match="c"):
        check_event_types(["c"], ["a", "b"])


def test_a_rotation_signs_with_both_secrets_until_the_grace_ends() -> None:
    hook = endpoint()
    hook.rotate_secret("sealed-2", AT + timedelta(hours=1), CTX)
    assert hook.signing_secrets(AT) == ["sealed-2", "sealed-1"]
    assert hook.signing_secrets(AT + timedelta(hours=2)) == ["sealed-2"]
    hook.rotate_secret("sealed-3", None, CTX)
    assert hook.signing_secrets(AT) == ["sealed-3"]


def test_disabled_endpoints_accept_nothing_until_enabled_again() -> None:
    hook = endpoint()
    hook.record_failure(AT, CTX)
    assert hook.disable(DisabledBy.FAILING, "failing for 5 days", AT, CTX)
    assert not hook.disable(DisabledBy.USER, "again", AT, CTX)
    assert not hook.accepts("room_started")
    assert hook.disabled_by is DisabledBy.FAILING
    assert hook.enable(CTX)
    assert hook.accepts("room_started")
    assert hook.failing_since is None


def test_the_failure_streak_is_recorded_once_and_reset_by_a_success() -> None:
    hook = endpoint()
    assert hook.record_failure(AT, CTX)
    assert not hook.record_failure(AT + timedelta(hours=1), CTX)
    assert hook.failing_longer_than(3600, AT + timedelta(hours=2))
    assert hook.record_success(AT + timedelta(hours=3), CTX)
    assert not hook.failing_longer_than(0, AT + timedelta(days=9))


def test_an_update_without_change_records_nothing_and_a_deleted_endpoint_refuses() -> None:
    hook = endpoint()
    version = hook.version
    assert not hook.update({"url": hook.url}, CTX)
    assert hook.version == version
    with pytest.raises(InvalidValueError):
        hook.update({"sealed_secret": "mine"}, CTX)
    hook.delete(CTX)
    assert not hook.accepts("room_started")
    with pytest.raises(DeletedError):
        hook.enable(CTX)
