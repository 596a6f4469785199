"""The events customers can receive, with a versioned JSON Schema per type, and the
mapping from Pulse's domain events to them.

The store is the outbox: fan-out reads domain events from the notification log and
asks ``customer_events_of`` what each means to customers. Most domain events carry
everything needed; the others (a room's end, an egress report, a member's role change)
name only their aggregate, so the mapping is given ``load(aggregate_id, version)``
to read the aggregate *as of that event*, which keeps a replay identical to the
first run. Payloads never contain secrets, digests or sealed values.

A schema's ``version`` grows when a change could break a receiver (a field removed
or retyped); adding an optional field does not change it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.utils import get_topic

from pulse.domain.egress import Egress, EgressStatus
from pulse.domain.ingress import Ingress, IngressStatus
from pulse.domain.member import Member
from pulse.domain.metering import Meter
from pulse.domain.participant_session import ParticipantSession
from pulse.domain.plans import Plan
from pulse.domain.project import Project
from pulse.domain.room import Room
from pulse.domain.usage_alert import UsageAlert
from pulse.domain.webhook_endpoint import WebhookEndpoint
from pulse.projections.model import event_topic
from pulse.services.clock import as_utc

EVENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://pulse.dev/webhooks/events")

Loader = Callable[[UUID, int], Any]
"""The aggregate ``aggregate_id`` as of ``version`` (``app.repository.get(id, version=v)``)."""


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    description: str
    schema: dict[str, Any]


@dataclass(frozen=True)
class CustomerEvent:
    event_id: UUID
    type: str
    project_id: UUID | None
    organization_id: UUID | None
    occurred_at: datetime
    data: dict[str, Any]


class LoaderRequiredError(LookupError):
    """The domain event names only its aggregate; pass ``load`` to map it."""


# -- schemas ----------------------------------------------------------------------------

_STR: dict[str, Any] = {"type": "string"}
_OPT_STR: dict[str, Any] = {"type": ["string", "null"]}
_ID: dict[str, Any] = {"type": "string", "format": "uuid"}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
_OPT_TIME: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
_OBJECTS: dict[str, Any] = {"type": "array", "items": {"type": "object"}}
_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }


_ROOM = {"room_id": _ID, "room_name": _STR, "room_sid": _STR}
_PARTICIPANT = {
    "session_id": _ID,
    **_ROOM,
    "participant_sid": _STR,
    "identity": _STR,
    "name": _STR,
    "joined_at": _TIME,
}
_EGRESS = {
    "egress_id": _ID,
    "livekit_egress_id": _OPT_STR,
    "room_name": _STR,
    "kind": {"enum": ["room_composite", "track_composite", "track"]},
}
_INGRESS = {
    "ingress_id": _ID,
    "livekit_ingress_id": _OPT_STR,
    "room_name": _STR,
    "kind": {"enum": ["rtmp", "whip", "url"]},
    "name": _STR,
    "participant_identity": _STR,
}
_CLOSED = {"reason": _STR, "closed_by": _STR}

_TYPES = (
    EventType("room_started", 1, "A room opened.", _object(**_ROOM, started_at=_TIME)),
    EventType(
        "room_ended",
        1,
        "A room closed (LiveKit said so, or reconciliation found it gone).",
        _object(**_ROOM, started_at=_TIME, ended_at=_TIME, **_CLOSED),
    ),
    EventType("participant_joined", 1, "A participant joined a room.", _object(**_PARTICIPANT)),
    EventType(
        "participant_left",
        1,
        "A participant left a room; ``duration_seconds`` is the length of the stay.",
        _object(**_PARTICIPANT, left_at=_TIME, duration_seconds={"type": "number"}, **_CLOSED),
    ),
    EventType(
        "egress_started",
        1,
        "LiveKit accepted a recording or stream and it is running.",
        _object(**_EGRESS, status=_STR, started_at=_OPT_TIME),
    ),
    EventType(
        "egress_ended",
        1,
        "A recording or stream reached its final status: complete, or failed (also when "
        "LiveKit refused to start it, or lost it).",
        _object(
            **_EGRESS,
            status={"enum": ["complete", "failed"]},
            ended_at=_OPT_TIME,
            error=_OPT_STR,
            error_code=_OPT_STR,
        ),
    ),
    EventType(
        "recording_available",
        1,
        "A complete egress produced files or HLS playlists that can be fetched.",
        _object(**_EGRESS, files=_OBJECTS, playlists=_OBJECTS, playback_url=_OPT_STR),
    ),
    EventType(
        "ingress_started",
        1,
        "An ingress began publishing into its room.",
        _object(**_INGRESS, status=_STR, started_at=_OPT_TIME),
    ),
    EventType(
        "ingress_ended",
        1,
        "An ingress stopped publishing (inactive, complete or error).",
        _object(**_INGRESS, status=_STR, ended_at=_OPT_TIME, error=_OPT_STR),
    ),
    EventType(
        "project.updated",
        1,
        "A project's settings changed; ``changed`` names the fields (storage credentials "
        "are never included).",
        _object(project_id=_ID, changed=_STRINGS, name=_STR, region=_STR),
    ),
    EventType(
        "project.deleted", 1, "A project was deleted.", _object(project_id=_ID, deleted_at=_TIME)
    ),
    EventType(
        "api_key.created",
        1,
        "An API key was created (its id and name only).",
        _object(project_id=_ID, key_id=_STR, name=_STR, created_at=_TIME),
    ),
    EventType(
        "api_key.revoked",
        1,
        "An API key was revoked and stopped working.",
        _object(project_id=_ID, key_id=_STR, revoked_at=_TIME),
    ),
    EventType(
        "api_key.rotated",
        1,
        "A new key replaces one key (rotation) or every working key (regeneration); the "
        "retired keys work until ``old_valid_until``.",
        _object(project_id=_ID, new_key_id=_STR, retired_key_ids=_STRINGS, old_valid_until=_TIME),
    ),
    EventType(
        "member.added",
        1,
        "Someone joined the project's organization (sent to each of its projects).",
        _object(organization_id=_ID, user_id=_ID, email=_STR, role=_STR),
    ),
    EventType(
        "member.role_changed",
        1,
        "A member of the project's organization got another role.",
        _object(organization_id=_ID, user_id=_ID, role=_STR, previous_role=_STR),
    ),
    EventType(
        "member.removed",
        1,
        "A member left or was removed from the project's organization.",
        _object(organization_id=_ID, user_id=_ID),
    ),
    EventType(
        "webhook_endpoint.disabled",
        1,
        "One of the project's endpoints was disabled (by a user, after ``410 Gone``, or "
        "after failing too long). Sent to the project's other enabled endpoints.",
        _object(
            endpoint_id=_ID,
            url=_STR,
            disabled_by={"enum": ["user", "gone", "failing"]},
            reason=_STR,
            disabled_at=_TIME,
        ),
    ),
    EventType(
        "usage.alert_raised",
        1,
        "A project's usage of a meter reached the plan's alert threshold (``level`` "
        "``threshold``: 80 % on Free and Pro, 90 % on Enterprise) or its whole limit "
        "(``limit``) in the billing period; each level is sent once per meter and period. "
        "``used`` and ``limit`` are in the meter's billing unit (minutes, GB, requests), "
        "``percent`` of the limit, all as decimal strings.",
        _object(
            project_id=_ID,
            period={"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
            meter={"enum": [str(meter) for meter in Meter]},
            level={"enum": ["threshold", "limit"]},
            percent=_STR,
            used=_STR,
            limit=_STR,
            plan={"enum": [str(plan) for plan in Plan]},
        ),
    ),
)

CATALOG: Mapping[str, EventType] = {event_type.name: event_type for event_type in _TYPES}


# -- mapping ----------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    """UTC, ISO 8601 with ``Z``, as receivers of Standard Webhooks expect."""
    return None if moment is None else as_utc(moment).isoformat().replace("+00:00", "Z")


def _json_ready(value: Any) -> Any:
    """Plain JSON values all the way down (LiveKit's results carry datetimes)."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, UUID):
        return str(value)
    return value


@dataclass(frozen=True)
class _Made:
    type: str
    data: dict[str, Any]
    project_id: UUID | None = None
    organization_id: UUID | None = None


_Mapper = Callable[[Any, Loader | None], list[_Made]]


def _as_of(event: Any, load: Loader | None) -> Any:
    if load is None:
        raise LoaderRequiredError(
            f"{type(event).__qualname__} names only its aggregate: call customer_events_of("
            "event, load=loader_of(app)) (pulse.services.webhook_catalog) to map it"
        )
    return load(event.originator_id, event.originator_version)


def _room_data(room: Any) -> dict[str, Any]:
    return {
        "room_id": str(room.id),
        "room_name": room.name,
        "room_sid": room.livekit_sid,
        "started_at": _iso(room.started_at),
    }


def _room_started(event: Any, load: Loader | None) -> list[_Made]:
    data = {
        "room_id": str(event.originator_id),
        "room_name": event.name,
        "room_sid": event.livekit_sid,
        "started_at": _iso(event.started_at),
    }
    return [_Made("room_started", data, project_id=event.project_id)]


def _room_ended(event: Any, load: Loader | None) -> list[_Made]:
    room = _as_of(event, load)
    data = {
        **_room_data(room),
        "ended_at": _iso(event.ended_at),
        "reason": event.reason,
        "closed_by": event.closed_by,
    }
    return [_Made("room_ended", data, project_id=room.project_id)]


def _participant_data(session: Any) -> dict[str, Any]:
    return {
        "session_id": str(session.id),
        "room_id": str(session.room_id),
        "room_name": session.room_name,
        "room_sid": session.room_sid,
        "participant_sid": session.participant_sid,
        "identity": session.identity,
        "name": session.name,
        "joined_at": _iso(session.joined_at),
    }


def _participant_joined(event: Any, load: Loader | None) -> list[_Made]:
    data = {
        "session_id": str(event.originator_id),
        "room_id": str(event.room_id),
        "room_name": event.room_name,
        "room_sid": event.room_sid,
        "participant_sid": event.participant_sid,
        "identity": event.identity,
        "name": event.name,
        "joined_at": _iso(event.joined_at),
    }
    return [_Made("participant_joined", data, project_id=event.project_id)]


def _participant_left(event: Any, load: Loader | None) -> list[_Made]:
    session = _as_of(event, load)
    data = {
        **_participant_data(session),
        "left_at": _iso(event.left_at),
        "duration_seconds": float(Decimal(str(event.duration))),
        "reason": event.reason,
        "closed_by": event.closed_by,
    }
    return [_Made("participant_left", data, project_id=session.project_id)]


def _egress_data(egress: Any) -> dict[str, Any]:
    return {
        "egress_id": str(egress.id),
        "livekit_egress_id": egress.livekit_egress_id,
        "room_name": egress.room,
        "kind": str(egress.kind),
    }


def _egress_changed(event: Any, load: Loader | None) -> list[_Made]:
    """Started, Updated, StartFailed, Lost: a status change may start or end it, and a
    completion with files makes a recording available (both from one report)."""
    changes: dict[str, Any] = event.changes
    status = changes.get("status")
    if status is None and not changes.get("recording_available"):
        return []
    egress = _as_of(event, load)
    made: list[_Made] = []
    if status == EgressStatus.ACTIVE:
        data = {**_egress_data(egress), "status": status, "started_at": _iso(egress.started_at)}
        made.append(_Made("egress_started", data, project_id=egress.project_id))
    elif status in (EgressStatus.COMPLETE, EgressStatus.FAILED):
        data = {
            **_egress_data(egress),
            "status": str(status),
            "ended_at": _iso(egress.ended_at),
            "error": egress.error,
            "error_code": egress.error_code,
        }
        made.append(_Made("egress_ended", data, project_id=egress.project_id))
    if changes.get("recording_available"):
        data = {
            **_egress_data(egress),
            "files": list(egress.results.get("files", [])),
            "playlists": list(egress.results.get("playlists", [])),
            "playback_url": egress.playback_url,
        }
        made.append(_Made("recording_available", data, project_id=egress.project_id))
    return made


_INGRESS_ENDS = (IngressStatus.INACTIVE, IngressStatus.COMPLETE, IngressStatus.ERROR)


def _ingress_changed(event: Any, load: Loader | None) -> list[_Made]:
    """Updated: publishing starts it; inactive, complete or error after that ends it."""
    status = event.changes.get("status")
    if status not in (IngressStatus.PUBLISHING, *_INGRESS_ENDS):
        return []
    ingress = _as_of(event, load)
    data: dict[str, Any] = {
        "ingress_id": str(ingress.id),
        "livekit_ingress_id": ingress.livekit_ingress_id,
        "room_name": ingress.room,
        "kind": str(ingress.kind),
        "name": ingress.name,
        "participant_identity": ingress.participant_identity,
        "status": str(status),
    }
    if status == IngressStatus.PUBLISHING:
        made = _Made(
            "ingress_started",
            {**data, "started_at": _iso(ingress.started_at)},
            project_id=ingress.project_id,
        )
    else:
        made = _Made(
            "ingress_ended",
            {**data, "ended_at": _iso(ingress.ended_at), "error": ingress.error},
            project_id=ingress.project_id,
        )
    return [made]


def _ingress_created(event: Any, load: Loader | None) -> list[_Made]:
    """LiveKit's answer to the creation: a start if it is publishing already (a URL
    input), never an end (a new RTMP/WHIP ingress is merely waiting for its stream)."""
    if event.changes.get("status") != IngressStatus.PUBLISHING:
        return []
    return _ingress_changed(event, load)


def _project_updated(event: Any, load: Loader | None) -> list[_Made]:
    project = _as_of(event, load)
    data = {
        "project_id": str(project.id),
        "changed": sorted(event.changes),
        "name": project.name,
        "region": project.region,
    }
    return [_Made("project.updated", data, project_id=project.id)]


def _project_deleted(event: Any, load: Loader | None) -> list[_Made]:
    data = {"project_id": str(event.originator_id), "deleted_at": _iso(event.deleted_at)}
    return [_Made("project.deleted", data, project_id=event.originator_id)]


def _key_created(event: Any, load: Loader | None) -> list[_Made]:
    data = {
        "project_id": str(event.originator_id),
        "key_id": event.key_id,
        "name": event.name,
        "created_at": _iso(event.created_at),
    }
    return [_Made("api_key.created", data, project_id=event.originator_id)]


def _key_revoked(event: Any, load: Loader | None) -> list[_Made]:
    data = {
        "project_id": str(event.originator_id),
        "key_id": event.key_id,
        "revoked_at": _iso(event.revoked_at),
    }
    return [_Made("api_key.revoked", data, project_id=event.originator_id)]


def _key_rotated(event: Any, load: Loader | None) -> list[_Made]:
    data = {
        "project_id": str(event.originator_id),
        "new_key_id": event.new_key_id,
        "retired_key_ids": [event.key_id],
        "old_valid_until": _iso(event.old_valid_until),
    }
    return [_Made("api_key.rotated", data, project_id=event.originator_id)]


def _keys_regenerated(event: Any, load: Loader | None) -> list[_Made]:
    data = {
        "project_id": str(event.originator_id),
        "new_key_id": event.new_key_id,
        "retired_key_ids": list(event.retired),
        "old_valid_until": _iso(event.old_valid_until),
    }
    return [_Made("api_key.rotated", data, project_id=event.originator_id)]


def _member_joined(event: Any, load: Loader | None) -> list[_Made]:
    data = {
        "organization_id": str(event.organization_id),
        "user_id": str(event.user_id),
        "email": event.email,
        "role": str(event.role),
    }
    return [_Made("member.added", data, organization_id=event.organization_id)]


def _member_data(member: Any) -> dict[str, Any]:
    return {"organization_id": str(member.organization_id), "user_id": str(member.user_id)}


def _member_rejoined(event: Any, load: Loader | None) -> list[_Made]:
    member = _as_of(event, load)
    data = {**_member_data(member), "email": member.email, "role": str(event.role)}
    return [_Made("member.added", data, organization_id=member.organization_id)]


def _member_role_changed(event: Any, load: Loader | None) -> list[_Made]:
    member = _as_of(event, load)
    data = {**_member_data(member), "role": str(event.role), "previous_role": str(event.previous)}
    return [_Made("member.role_changed", data, organization_id=member.organization_id)]


def _member_removed(event: Any, load: Loader | None) -> list[_Made]:
    member = _as_of(event, load)
    return [_Made("member.removed", _member_data(member), organization_id=member.organization_id)]


def _endpoint_disabled(event: Any, load: Loader | None) -> list[_Made]:
    endpoint = _as_of(event, load)
    data = {
        "endpoint_id": str(endpoint.id),
        "url": endpoint.url,
        "disabled_by": str(event.by),
        "reason": event.reason,
        "disabled_at": _iso(event.at),
    }
    return [_Made("webhook_endpoint.disabled", data, project_id=endpoint.project_id)]


def _usage_alert_raised(event: Any, load: Loader | None) -> list[_Made]:
    data = {
        "project_id": str(event.project_id),
        "period": event.period,
        "meter": str(event.meter),
        "level": str(event.level),
        "percent": event.percent,
        "used": event.used,
        "limit": event.limit,
        "plan": str(event.plan),
    }
    return [_Made("usage.alert_raised", data, project_id=event.project_id)]


_MAPPERS: dict[str, _Mapper] = {
    event_topic(Room, "Started"): _room_started,
    event_topic(Room, "Ended"): _room_ended,
    event_topic(ParticipantSession, "Joined"): _participant_joined,
    event_topic(ParticipantSession, "Left"): _participant_left,
    event_topic(Egress, "Started"): _egress_changed,
    event_topic(Egress, "Updated"): _egress_changed,
    event_topic(Egress, "StartFailed"): _egress_changed,
    event_topic(Egress, "Lost"): _egress_changed,
    event_topic(Ingress, "Created"): _ingress_created,
    event_topic(Ingress, "Updated"): _ingress_changed,
    event_topic(Project, "Updated"): _project_updated,
    event_topic(Project, "Deleted"): _project_deleted,
    event_topic(Project, "KeyCreated"): _key_created,
    event_topic(Project, "KeyRevoked"): _key_revoked,
    event_topic(Project, "KeyRotated"): _key_rotated,
    event_topic(Project, "KeysRegenerated"): _keys_regenerated,
    event_topic(Member, "Joined"): _member_joined,
    event_topic(Member, "Rejoined"): _member_rejoined,
    event_topic(Member, "RoleChanged"): _member_role_changed,
    event_topic(Member, "Removed"): _member_removed,
    event_topic(WebhookEndpoint, "Disabled"): _endpoint_disabled,
    event_topic(UsageAlert, "Raised"): _usage_alert_raised,
}

TOPICS: frozenset[str] = frozenset(_MAPPERS)
"""Stored topics that may mean something to customers; fan-out can skip all others
without decoding them."""


def event_id_of(originator_id: UUID, originator_version: int, index: int = 0) -> UUID:
    """Stable across replays. The first customer event of a domain event is keyed by
    (originator, version) alone; a second one from the same domain event (an egress that
    ends *and* makes a recording available) adds its position."""
    name = f"{originator_id}:{originator_version}" + (f":{index}" if index else "")
    return uuid5(EVENT_NAMESPACE, name)


def customer_events_of(domain_event: Any, load: Loader | None = None) -> list[CustomerEvent]:
    """What ``domain_event`` means to customers: zero, one, or (egress) two events.

    ``load`` is needed for events that name only their aggregate; without it those
    raise ``LoaderRequiredError`` rather than being silently dropped.
    """
    mapper = _MAPPERS.get(get_topic(type(domain_event)))
    if mapper is None:
        return []
    occurred_at = as_utc(domain_event.timestamp)
    return [
        CustomerEvent(
            event_id=event_id_of(domain_event.originator_id, domain_event.originator_version, i),
            type=made.type,
            project_id=made.project_id,
            organization_id=made.organization_id,
            occurred_at=occurred_at,
            data=_json_ready(made.data),
        )
        for i, made in enumerate(mapper(domain_event, load))
    ]


def customer_event_of(domain_event: Any, load: Loader | None = None) -> CustomerEvent | None:
    """The first of ``customer_events_of`` (prefer that: an egress report can be two)."""
    events = customer_events_of(domain_event, load)
    return events[0] if events else None


def loader_of(app: Any) -> Loader:
    """``load`` for an eventsourcing application: its repository, at the event's version."""

    def load(aggregate_id: UUID, version: int) -> Any:
        return app.repository.get(aggregate_id, version=version)

    return load
