"""The delivery log's commands and single reads: see a delivery, resend it, replay a period.

Authorization is the management plane's: any member of the project's organization
reads (``Permission.VIEW_PROJECTS``), ``Permission.MANAGE_WEBHOOKS`` changes. A
delivery or endpoint of another project is ``NotFoundError`` (404) even to a member
of both organizations: the project in the path is the scope, never widened.

Replay rule: replaying ``since`` a time re-sends to an endpoint what it did not
receive successfully. For every customer event of the endpoint's project (and
organization-wide events of its organization) that occurred since then and that
the endpoint's filter accepts, the delivery (same derived id as the fan-out's, so
never a second one) is

- created if there is none (the endpoint was disabled, filtered the type, or did
  not exist yet);
- sent again (a new round, same ``webhook-id``) if it failed for good;
- left alone if it succeeded (the receiver has it; resend that one delivery to
  get it again) or is still being attempted (its retries go on).

The log is read from a position found by time (a binary search over notification
ids, with a margin because commit order and event timestamps may differ slightly),
so a replay of the last hour does not decode the whole store. ``since`` older than
``max_age_seconds`` is refused: the bound keeps one request's work bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pulse.domain.context import CommandContext
from pulse.domain.errors import InvalidValueError, InvariantError
from pulse.domain.project import Project
from pulse.domain.roles import Permission
from pulse.domain.webhook_delivery import DeliveryStatus, WebhookDelivery, delivery_id
from pulse.domain.webhook_endpoint import WebhookEndpoint
from pulse.logging import get_logger
from pulse.projections.collections import WEBHOOK_DELIVERIES
from pulse.projections.store import read_model_database
from pulse.services.application import PulseApplication
from pulse.services.authorization import require_project
from pulse.services.clock import utc_now
from pulse.services.deliveries.fanout import save_new
from pulse.services.errors import NotFoundError
from pulse.services.retries import retry_on_conflict
from pulse.services.views import View, ms
from pulse.services.webhook_catalog import TOPICS, CustomerEvent, customer_events_of, loader_of
from pulse.services.webhook_endpoints import endpoint_in, live_endpoint

log = get_logger(__name__)

READ = Permission.VIEW_PROJECTS
MANAGE = Permission.MANAGE_WEBHOOKS

ENDPOINT_DISABLED = "webhook_endpoint.disabled"

# Event timestamps are taken when a command runs, ids when it commits: an event
# may sit after a later-stamped one in the log by the length of a command.
_CLOCK_MARGIN = timedelta(minutes=10)
_PROBE = 16  # Notifications read per binary-search step (a few may not decode).
_BATCH = 100  # Deliveries created per commit.


class ReplaySettings(BaseSettings):
    """From ``PULSE_WEBHOOK_REPLAY_*``; construct directly in tests (``_env_file=None``)."""

    model_config = SettingsConfigDict(
        env_prefix="PULSE_WEBHOOK_REPLAY_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    max_age_seconds: int = Field(default=30 * 86_400, ge=60)
    """A replay may reach back this far (30 days by default), no further."""

    page_size: int = Field(default=500, ge=1, le=10_000)
    """Notifications read per round trip while replaying."""


# -- authorization and loading -------------------------------------------------------


def delivery_in(
    app: PulseApplication,
    project_id: UUID,
    user_id: UUID,
    delivery: UUID,
    permission: Permission,
) -> WebhookDelivery:
    """The project's delivery, if the caller may; another project's is not found."""
    require_project(app, project_id, user_id, permission)
    found = app.load(delivery, WebhookDelivery)
    if found.project_id != project_id:
        raise NotFoundError(f"Webhook delivery {delivery}")
    return found


def delivery_view(delivery: WebhookDelivery) -> View:
    """Named like ``rm_webhook_deliveries`` documents, plus the body that is sent."""
    return {
        "id": str(delivery.id),
        "endpoint_id": str(delivery.endpoint_id),
        "project_id": str(delivery.project_id),
        "event_id": str(delivery.event_id),
        "event_type": delivery.event_type,
        "message_id": delivery.message_id,
        "status": str(delivery.status),
        "round": delivery.round,
        "attempts": delivery.attempts,
        "total_attempts": delivery.total_attempts,
        "next_attempt_at": ms(delivery.next_attempt_at),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "occurred_at": ms(delivery.occurred_at),
        "created_at": ms(delivery.created_on),
        "succeeded_at": ms(delivery.succeeded_at),
        "failed_at": ms(delivery.failed_at),
        "updated_at": ms(delivery.modified_on),
        "payload": delivery.payload,
    }


def check_endpoint(
    app: PulseApplication, project_id: UUID, user_id: UUID, endpoint_id: UUID
) -> None:
    """Authorize a read of the endpoint's log (its lists come from read models)."""
    endpoint_in(app, project_id, user_id, endpoint_id, READ)


def get_delivery(app: PulseApplication, project_id: UUID, user_id: UUID, delivery: UUID) -> View:
    return delivery_view(delivery_in(app, project_id, user_id, delivery, READ))


# -- resend --------------------------------------------------------------------------


def _require_sendable(endpoint: WebhookEndpoint) -> None:
    # A disabled endpoint's deliveries are abandoned unsent: resending to it would
    # only fail again. Enabling it first is the caller's explicit decision.
    if not endpoint.enabled:
        raise InvariantError("The endpoint is disabled; enable it before resending")


def resend(
    app: PulseApplication,
    project_id: UUID,
    user_id: UUID,
    delivery: UUID,
    context: CommandContext,
) -> View:
    """A new round of attempts of a final delivery, with the same ``webhook-id``.

    Refused (409) while the delivery is still being attempted, or when its endpoint
    is disabled; the caller enqueues the first attempt (``next_attempt_at``).
    """

    def command() -> View:
        found = delivery_in(app, project_id, user_id, delivery, MANAGE)
        endpoint = live_endpoint(app, project_id, found.endpoint_id)  # Authorized above.
        _require_sendable(endpoint)
        found.resend(utc_now(), context)
        app.save(found)
        return delivery_view(found)

    return retry_on_conflict(command)


# -- replay --------------------------------------------------------------------------


@dataclass
class ReplayReport:
    since: datetime
    events: int = 0
    """Events of the period the endpoint accepts."""
    created: int = 0
    """Deliveries that did not exist (the endpoint had not been sent these events)."""
    resent: int = 0
    """Deliveries that had failed for good, now in a new round."""
    already_delivered: int = 0
    in_progress: int = 0
    due: list[tuple[UUID, int]] = field(default_factory=list)
    """Deliveries to enqueue now (created and resent), with their round."""
    at: datetime = field(default_factory=utc_now)

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "events": self.events,
            "created": self.created,
            "resent": self.resent,
            "already_delivered": self.already_delivered,
            "in_progress": self.in_progress,
        }


def _timestamp_of(app: PulseApplication, notifications: list[Notification]) -> datetime | None:
    for notification in notifications:
        try:
            decoded: Any = app.mapper.to_domain_event(notification)
        except Exception:  # noqa: S112 (an event of a kind this code lacks: skip it)
            continue
        moment = getattr(decoded, "timestamp", None)
        if isinstance(moment, datetime):
            return moment
    return None


def first_position_at(app: PulseApplication, moment: datetime, upper: int) -> int:
    """A notification id at or before the first event stamped ``moment`` or later.

    Binary search with ``_CLOCK_MARGIN`` of slack: cheap (a few short range reads),
    and it never starts after an event of the period, only a little before.
    """
    target = moment - _CLOCK_MARGIN
    low, high = 1, upper + 1
    while low < high:
        middle = (low + high) // 2
        page = list(app.recorder.select_notifications(middle, _PROBE, stop=upper))
        stamped = _timestamp_of(app, page)
        if stamped is not None and stamped < target:
            low = middle + 1
        else:
            high = middle  # Later, or unknown: keep it in range (never skip events).
    return low


def events_since(app: PulseApplication, since: datetime, page_size: int) -> Iterator[CustomerEvent]:
    """Customer events that occurred at ``since`` or later, up to the log's end now."""
    upper = app.recorder.max_notification_id() or 0
    if upper == 0:
        return
    position = first_position_at(app, since, upper) - 1
    topics = sorted(TOPICS)
    load = loader_of(app)
    while position < upper:
        # Other topics are skipped by the store, so they are never decoded here.
        page = app.recorder.select_notifications(
            position, page_size, stop=upper, topics=topics, inclusive_of_start=False
        )
        if not page:
            return
        for notification in page:
            # An egress report can be two customer events (started and ended).
            for event in customer_events_of(app.mapper.to_domain_event(notification), load):
                if event.occurred_at >= since:
                    yield event
        position = page[-1].id


def _is_for(event: CustomerEvent, endpoint: WebhookEndpoint, project: Project) -> bool:
    """Whether the fan-out would send ``event`` to ``endpoint`` if it happened now."""
    if event.project_id is not None:
        in_scope = event.project_id == endpoint.project_id
    else:
        in_scope = event.organization_id == project.organization_id
    if not in_scope or not endpoint.accepts(event.type):
        return False
    # The endpoint's own disabling is news for the project's other endpoints only.
    return not (
        event.type == ENDPOINT_DISABLED
        and str(event.data.get("endpoint_id", event.data.get("id"))) == str(endpoint.id)
    )


def _replay_batch(
    app: PulseApplication,
    events: list[CustomerEvent],
    endpoint: WebhookEndpoint,
    report: ReplayReport,
    context: CommandContext,
) -> None:
    """Create the missing deliveries of ``events`` in one commit; settle the others.

    The read model says, in one query, which deliveries exist. It may lag: a delivery
    it does not know yet collides on the store's unique key when created (``save_new``
    skips it) and is then settled from its aggregate like the others. Only those it
    already shows as succeeded are counted without loading the aggregate.
    """
    report.events += len(events)
    wanted = {delivery_id(event.event_id, endpoint.id): event for event in events}
    known = {
        str(document["_id"]): str(document.get("status"))
        for document in read_model_database(app)[WEBHOOK_DELIVERIES].find(
            {"_id": {"$in": [str(i) for i in wanted]}}, {"status": 1}
        )
    }
    fresh = [event for wanted_id, event in wanted.items() if str(wanted_id) not in known]
    matches = [(event, endpoint.id, endpoint.project_id) for event in fresh]
    created = save_new(app, matches, report.at, context)
    report.created += len(created)
    report.due.extend((delivery.id, delivery.round) for delivery in created)
    made = {delivery.id for delivery in created}
    for wanted_id in wanted:
        if wanted_id in made:
            continue
        if known.get(str(wanted_id)) == DeliveryStatus.SUCCEEDED:
            report.already_delivered += 1
            continue
        _settle_existing(app, wanted_id, report, context)


def _settle_existing(
    app: PulseApplication,
    delivery: UUID,
    report: ReplayReport,
    context: CommandContext,
) -> None:
    def command() -> tuple[str, int]:
        current = app.load(delivery, WebhookDelivery)
        if not current.is_final:
            return "in_progress", current.round
        if current.succeeded_at is not None:
            return "already_delivered", current.round
        current.resend(report.at, context)
        app.save(current)
        return "resent", current.round

    outcome, round_no = retry_on_conflict(command)
    setattr(report, outcome, getattr(report, outcome) + 1)
    if outcome == "resent":
        report.due.append((delivery, round_no))


def check_since(since: datetime, now: datetime, settings: ReplaySettings) -> None:
    if since.tzinfo is None:
        raise InvalidValueError("since must include a time zone (e.g. 2026-01-31T12:00:00Z)")
    oldest = now - timedelta(seconds=settings.max_age_seconds)
    if since < oldest:
        raise InvalidValueError(
            f"since may be at most {settings.max_age_seconds} seconds ago ({oldest.isoformat()})"
        )


def replay(
    app: PulseApplication,
    project_id: UUID,
    user_id: UUID,
    endpoint_id: UUID,
    since: datetime,
    settings: ReplaySettings,
    context: CommandContext,
) -> ReplayReport:
    """Give the endpoint every accepted event since ``since`` it has not received.

    Idempotent: a second replay of the same period creates nothing, and resends only
    what failed for good again since. The caller enqueues ``report.due``.
    """
    now = utc_now()
    check_since(since, now, settings)
    endpoint, project = endpoint_in(app, project_id, user_id, endpoint_id, MANAGE)
    _require_sendable(endpoint)
    report = ReplayReport(since=since, at=now)
    batch: list[CustomerEvent] = []
    for event in events_since(app, since, settings.page_size):
        if _is_for(event, endpoint, project):
            batch.append(event)
        if len(batch) >= _BATCH:
            _replay_batch(app, batch, endpoint, report, context)
            batch = []
    if batch:
        _replay_batch(app, batch, endpoint, report, context)
    log.info(
        "webhook_replay",
        project_id=str(project_id),
        endpoint_id=str(endpoint_id),
        **{k: v for k, v in report.as_dict().items() if k != "since"},
    )
    return report
