"""The intake of LiveKit's webhooks: verify, find the project, record exactly once.

1. ``verify_webhook`` checks the ``Authorization`` token against the credentials of
   the region whose API key issued it (livekit-api's ``WebhookReceiver``: signature,
   expiry, and the body's SHA-256 named in the token).
2. ``record_webhook`` finds the project from the room name, runs the handler
   registered for the event, and saves what it changed together with a
   ``WebhookReceipt`` whose id is derived from LiveKit's event id: a redelivery
   collides on the event store's unique key and records nothing.

Webhooks about rooms that are not Pulse's, or whose project does not exist, and
events nobody handles are acknowledged without recording anything: LiveKit would
otherwise retry them, and nothing could ever make them useful.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID
from weakref import WeakKeyDictionary

import jwt
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from google.protobuf.json_format import ParseError
from livekit.api import TokenVerifier, WebhookEvent, WebhookReceiver

from pulse.domain.context import CommandContext
from pulse.domain.errors import InvalidValueError
from pulse.domain.project import Project
from pulse.domain.webhook_receipt import WebhookReceipt, receipt_id
from pulse.livekit.naming import split_livekit_room
from pulse.livekit.regions import Region
from pulse.logging import get_logger
from pulse.services.application import PulseApplication
from pulse.services.errors import AuthenticationError, NotFoundError
from pulse.services.retries import retry_on_conflict
from pulse.services.webhooks import egress, ingress, rooms
from pulse.services.webhooks.model import Delivery, Handler
from pulse.services.webhooks.moments import to_millisecond

log = get_logger(__name__)

_KNOWN_PROJECTS_KEPT = 10_000


class InvalidWebhookError(AuthenticationError):
    """No valid LiveKit signature: missing, forged, expired, or for another body."""


class Outcome(StrEnum):
    RECORDED = "recorded"
    """Something changed and was saved with the receipt."""
    DUPLICATE = "duplicate"
    """This event id was recorded before: a redelivery."""
    UNCHANGED = "unchanged"
    """Pulse already knew all of it (e.g. a late ``participant_left``): nothing saved."""
    IGNORED = "ignored"
    """Not Pulse's room, no such project, or an event nobody handles."""


@dataclass(frozen=True)
class VerifiedWebhook:
    event: WebhookEvent
    region_code: str
    """A region whose credentials signed it: the LiveKit deployment that sent it."""


@dataclass(frozen=True)
class IntakeResult:
    outcome: Outcome
    delivery: Delivery | None = None
    """None when ignored before the project was known."""
    reason: str | None = None


def handlers() -> dict[str, Handler]:
    """Every handler by event name; read at each call so late registrations count."""
    return {**rooms.HANDLERS, **egress.HANDLERS, **ingress.HANDLERS}


# -- verification ---------------------------------------------------------------------


def _issuer(token: str) -> str | None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


def _credentials_of(issuer: str, regions: Mapping[str, Region]) -> dict[tuple[str, str], str]:
    """Distinct (key, secret) pairs named ``issuer``, each with one region using it."""
    found: dict[tuple[str, str], str] = {}
    for code, region in regions.items():
        endpoint = region.endpoint
        if endpoint.api_key == issuer:
            found.setdefault((endpoint.api_key, endpoint.api_secret.get_secret_value()), code)
    return found


def verify_webhook(
    body: bytes, authorization: str | None, regions: Mapping[str, Region]
) -> VerifiedWebhook:
    """The event, if a region's LiveKit signed exactly this body; else ``InvalidWebhookError``."""
    if not authorization:
        raise InvalidWebhookError("A LiveKit webhook needs its Authorization token")
    token = authorization.removeprefix("Bearer ").strip()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidWebhookError("The webhook body is not UTF-8") from None
    issuer = _issuer(token)
    for (api_key, api_secret), code in _credentials_of(issuer or "", regions).items():
        receiver = WebhookReceiver(TokenVerifier(api_key, api_secret))
        try:
            event = receiver.receive(text, token)
        except ParseError as error:
            # Signed by LiveKit, so authentic, but not an event this SDK can read.
            raise InvalidValueError(f"The webhook body is not a LiveKit event: {error}") from None
        except Exception:  # noqa: S112 (the receiver raises bare Exceptions; try the next pair)
            continue
        return VerifiedWebhook(event, code)
    raise InvalidWebhookError("The webhook's signature is not valid")


# -- recording --------------------------------------------------------------------------


def livekit_room_name(event: WebhookEvent) -> str:
    """The LiveKit room an event is about (egress and ingress events name it elsewhere)."""
    if event.room.name:
        return event.room.name
    if event.HasField("egress_info"):
        return event.egress_info.room_name
    if event.HasField("ingress_info"):
        return event.ingress_info.room_name
    return ""


class _KnownProjects:
    """Projects seen to exist, per application: a project, once created, always exists
    (deletion is a state), so the answer can be kept and spares reading its events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: WeakKeyDictionary[PulseApplication, OrderedDict[UUID, None]] = (
            WeakKeyDictionary()
        )

    def exists(self, app: PulseApplication, project_id: UUID) -> bool:
        with self._lock:
            known = self._known.setdefault(app, OrderedDict())
            if project_id in known:
                known.move_to_end(project_id)
                return True
        try:
            app.load(project_id, Project)
        except NotFoundError:
            return False
        with self._lock:
            known[project_id] = None
            while len(known) > _KNOWN_PROJECTS_KEPT:
                known.popitem(last=False)
        return True


_known_projects = _KnownProjects()


def _changed(aggregates: Sequence[Aggregate]) -> list[Aggregate]:
    return [aggregate for aggregate in aggregates if aggregate.pending_events]


def _is_recorded(app: PulseApplication, livekit_event_id: str) -> bool:
    try:
        app.load(receipt_id(livekit_event_id), WebhookReceipt)
    except NotFoundError:
        return False
    return True


def _ignored(event: WebhookEvent, reason: str, **details: object) -> IntakeResult:
    log.info("livekit_webhook_ignored", livekit_event=event.event, reason=reason, **details)
    return IntakeResult(Outcome.IGNORED, reason=reason)


def record_webhook(
    app: PulseApplication,
    verified: VerifiedWebhook,
    received_at: datetime,
    context: CommandContext,
) -> IntakeResult:
    """Record a verified webhook once; see the module's docstring."""
    event = verified.event
    if event.num_dropped:
        # LiveKit's queue overflowed: those events are lost; reconciliation closes
        # what they would have closed.
        log.warning("livekit_webhooks_dropped", dropped=event.num_dropped)
    handler = handlers().get(event.event)
    if handler is None:
        return _ignored(event, "unhandled event")
    if not event.id:
        # Every LiveKit event has an id; without one a redelivery could not be told.
        return _ignored(event, "no event id")
    livekit_name = livekit_room_name(event)
    owner = split_livekit_room(livekit_name)
    if owner is None:
        return _ignored(event, "not a Pulse room", room=livekit_name)
    project_id, room = owner
    if not _known_projects.exists(app, project_id):
        return _ignored(event, "no such project", project_id=str(project_id))
    delivery = Delivery(
        event=event, project_id=project_id, room=room, received_at=to_millisecond(received_at)
    )

    def command() -> IntakeResult:
        changed = _changed(handler(app, delivery, context))
        if not changed:
            return IntakeResult(Outcome.UNCHANGED, delivery)
        receipt = WebhookReceipt(
            livekit_event_id=event.id,
            event_name=event.event,
            project_id=project_id,
            room=room,
            received_at=delivery.received_at,
            context=context,
        )
        try:
            app.save(receipt, *changed)
        except IntegrityError:
            if _is_recorded(app, event.id):
                return IntakeResult(Outcome.DUPLICATE, delivery)
            raise  # A concurrent change of the same aggregates: run again on fresh state.
        return IntakeResult(Outcome.RECORDED, delivery)

    return retry_on_conflict(command)
