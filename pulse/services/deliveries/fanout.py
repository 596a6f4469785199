"""The fan-out: customer events in the notification log become deliveries.

The event store is the outbox. This process reads the notification log after its own
position (tracking name ``webhook_fanout``), and for each event whose topic the
catalog maps to a customer event, creates one ``WebhookDelivery`` per matching
endpoint. It runs like a projection (``pulse.projections.runner``): one runner at a
time (the projection lock), pages ending on the tracking recorder's collection
boundaries, the position recorded after each page.

**Exactly once per (event, endpoint).** A delivery's id is derived from the event's
id and the endpoint's id, so a page read again after a crash (deliveries saved, the
position not yet recorded) collides on the event store's unique key: the collision
means "exists already" and is skipped. No second delivery, whatever the restarts.

**Deterministic matching.** Endpoints are read from ``rm_webhook_endpoints`` (and an
organization's projects from ``rm_projects``), so the fan-out only reads the log up
to the position the endpoints projection has reached, and stops before an
organization's event until the projects projection has passed it: an endpoint (or
project) created, changed or deleted before an event is always reflected in the read
model when that event is matched, never missed because a projection lagged. An endpoint receives
only events that happened after it was created (``created_at``): a lagging fan-out
or a fresh deployment never sends an endpoint the history before it existed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking
from pymongo.database import Database

from pulse.config import Settings
from pulse.domain.context import CommandContext
from pulse.domain.webhook_delivery import WebhookDelivery
from pulse.eventstore.tracking_recorder import _COLLECT_EVERY as TRACKING_COLLECT_EVERY
from pulse.logging import get_logger
from pulse.projections.collections import LOCKS, PROJECTS, WEBHOOK_ENDPOINTS
from pulse.projections.lock import ProjectionLock, ProjectionLockLostError
from pulse.projections.model import Document
from pulse.projections.options import ProjectionSettings
from pulse.projections.store import tracking_recorder
from pulse.projections.writes import utc
from pulse.services.application import PulseApplication
from pulse.services.clock import utc_now
from pulse.services.webhook_catalog import (
    CATALOG,
    TOPICS,
    CustomerEvent,
    customer_events_of,
    loader_of,
)

log = get_logger(__name__)

FANOUT = "webhook_fanout"
"""The tracking name and lock key of the fan-out."""

ENDPOINTS_SOURCE = "webhook_endpoints"
PROJECTS_SOURCE = "projects"
SOURCES = (ENDPOINTS_SOURCE, PROJECTS_SOURCE)
"""Projections whose read models the matching reads: the fan-out never passes the
endpoints one, nor the projects one with an organization's event."""

CONTEXT = CommandContext.system("webhook-fanout")


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_body(event: CustomerEvent) -> dict[str, Any]:
    """What the receiver gets: Standard Webhooks' ``type``/``timestamp``/``data``, plus
    the event's ``id`` (stable across replays) and the schema ``version`` of its type."""
    return {
        "id": str(event.event_id),
        "type": event.type,
        "version": CATALOG[event.type].version,
        "timestamp": iso_z(event.occurred_at),
        "data": event.data,
    }


def new_delivery(
    event: CustomerEvent,
    endpoint_id: UUID,
    project_id: UUID,
    now: datetime,
    context: CommandContext,
) -> WebhookDelivery:
    """The delivery of ``event`` to one endpoint, first attempt due ``now`` (unsaved).

    Its payload is the message body (``message_body``: id, type, version, timestamp,
    data), stored so that every attempt and resend sends the same bytes.
    """
    return WebhookDelivery(
        event_id=event.event_id,
        endpoint_id=endpoint_id,
        project_id=project_id,
        event_type=event.type,
        payload=message_body(event),
        occurred_at=utc(event.occurred_at),
        first_attempt_at=now,
        context=context,
    )


def matching_endpoints(
    database: Database[Document],
    event: CustomerEvent,
    cache: dict[tuple[str | None, str | None], list[Document]] | None = None,
) -> list[Document]:
    """Enabled endpoints of the event's project(s) that take its type and predate it.

    ``cache`` keeps the endpoints of each scope for one page: the read models do not
    change under the page (the fan-out never reads past them), and a page often holds
    many events of one project.
    """
    scope = (
        None if event.project_id is None else str(event.project_id),
        None if event.organization_id is None else str(event.organization_id),
    )
    if cache is None or scope not in cache:
        found = _enabled_endpoints(database, event)
        if cache is None:
            return _accepting(found, event)
        cache[scope] = found
    return _accepting(cache[scope], event)


def _accepting(endpoints: list[Document], event: CustomerEvent) -> list[Document]:
    occurred = utc(event.occurred_at)
    return [
        endpoint
        for endpoint in endpoints
        if (not endpoint.get("event_types") or event.type in endpoint["event_types"])
        and (endpoint.get("created_at") is None or utc(endpoint["created_at"]) <= occurred)
    ]


def _enabled_endpoints(database: Database[Document], event: CustomerEvent) -> list[Document]:
    if event.project_id is not None:
        project_ids = [str(event.project_id)]
    elif event.organization_id is not None:
        projects = database[PROJECTS].find(
            {"organization_id": str(event.organization_id), "deleted": False}, {"_id": 1}
        )
        project_ids = [str(project["_id"]) for project in projects]
    else:
        return []
    if not project_ids:
        return []
    return list(
        database[WEBHOOK_ENDPOINTS].find(
            {"project_id": {"$in": project_ids}, "enabled": True, "deleted": False}
        )
    )


Match = tuple[CustomerEvent, UUID, UUID]
"""An event, the endpoint it goes to, and that endpoint's project."""


def save_new(
    app: PulseApplication,
    matches: list[Match],
    now: datetime,
    context: CommandContext = CONTEXT,
) -> list[WebhookDelivery]:
    """Save the deliveries of ``matches``, in one commit unless some exist already (a
    page read again after a crash, or a replay racing the fan-out): then one by one,
    skipping those."""
    if not matches:
        return []
    deliveries = [new_delivery(*match, now, context) for match in matches]
    try:
        app.save(*deliveries)  # One commit for the page: the usual case.
    except IntegrityError:
        pass
    else:
        return deliveries
    # A save takes the aggregates' pending events even when it fails: build them again.
    created: list[WebhookDelivery] = []
    for match in matches:
        delivery = new_delivery(*match, now, context)
        try:
            app.save(delivery)
        except IntegrityError:
            continue  # Created already (an earlier run of this page, or the other side).
        created.append(delivery)
    return created


@dataclass
class FanOutResult:
    position: int
    read: int = 0
    events: int = 0
    """Customer events met (each with zero or more matching endpoints)."""
    created: list[WebhookDelivery] = field(default_factory=list)
    busy: bool = False


class _FanOut:
    def __init__(
        self,
        app: PulseApplication,
        database: Database[Document],
        settings: Settings,
        options: ProjectionSettings,
    ) -> None:
        self.app = app
        self.database = database
        self.tracking = tracking_recorder(app, settings)
        self.options = options
        self.load = loader_of(app)
        self.lock = ProjectionLock(database[LOCKS], FANOUT, stale_after=options.lock_stale_seconds)

    def position(self) -> int:
        return self.tracking.max_tracking_id(FANOUT) or 0

    def bounds(self) -> tuple[int, int]:
        """How far the endpoints and the projects read models have read the log."""
        return (
            self.tracking.max_tracking_id(ENDPOINTS_SOURCE) or 0,
            self.tracking.max_tracking_id(PROJECTS_SOURCE) or 0,
        )

    def page_limit(self, position: int) -> int:
        # As the runner does: ending pages on the tracking recorder's collection
        # boundaries keeps the tracking collection small.
        boundary = (position // TRACKING_COLLECT_EVERY + 1) * TRACKING_COLLECT_EVERY
        return min(self.options.page_size, boundary - position)

    def drain(self, result: FanOutResult) -> None:
        position = self.position()
        bound, projects_bound = self.bounds()
        while position < bound:
            page = self.app.recorder.select_notifications(
                position, self.page_limit(position), stop=bound, inclusive_of_start=False
            )
            if not page:
                break
            now = utc_now()
            matches: list[Match] = []
            cache: dict[tuple[str | None, str | None], list[Document]] = {}
            reached, stalled = position, False
            for notification in page:
                events = []
                if notification.topic in TOPICS:  # Others are skipped without decoding.
                    domain_event = self.app.mapper.to_domain_event(notification)
                    events = customer_events_of(domain_event, self.load)
                if notification.id > projects_bound and any(
                    event.project_id is None for event in events
                ):
                    # An organization's event needs its projects as of the event: wait
                    # for the projects read model (project events only wait for the
                    # endpoints one, which the page bound covers).
                    stalled = True
                    break
                for event in events:
                    result.events += 1
                    matches.extend(
                        (event, UUID(str(endpoint["_id"])), UUID(str(endpoint["project_id"])))
                        for endpoint in matching_endpoints(self.database, event, cache)
                    )
                reached = notification.id
            result.created.extend(save_new(self.app, matches, now))
            result.read += reached - position
            if reached > position:
                position = result.position = reached
                try:
                    self.tracking.insert_tracking(
                        Tracking(application_name=FANOUT, notification_id=position)
                    )
                except IntegrityError:
                    log.warning("webhook_fanout_position_already_recorded", position=position)
            self.lock.renew()
            if stalled:
                break
        result.position = position

    def run(self) -> FanOutResult:
        if not self.lock.try_acquire():
            return FanOutResult(position=self.position(), busy=True)
        result = FanOutResult(position=self.position())
        try:
            self.drain(result)
        except ProjectionLockLostError as error:
            log.warning("webhook_fanout_lock_lost", error=str(error))
        finally:
            self.lock.release()
        if result.read:
            log.info(
                "webhook_fanout_caught_up",
                position=result.position,
                read=result.read,
                events=result.events,
                deliveries=len(result.created),
            )
        return result


def fan_out(
    app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings | None = None,
) -> FanOutResult:
    """Create the deliveries of every customer event up to the sources' position.

    Returns at once (``busy``) if another fan-out runs. The caller enqueues the send
    jobs of ``created``; a delivery whose job is lost (a crash between the save and
    the enqueue) is found by the sweeper.
    """
    return _FanOut(app, database, settings, options or ProjectionSettings()).run()
