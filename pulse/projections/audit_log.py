"""``rm_audit_log``: who did what, where, when and with which outcome, from every event.

A batched projection (``PageWriter``) of the whole stream: each audited event becomes
one insert-only entry with ``_id = "<aggregate id>:<version>"``, so a replay, with
any page boundaries, inserts nothing twice. Entries:

- ``at`` (the event's time, UTC), ``organization_id``, ``project_id`` (or None);
- ``actor`` ``{kind, id}`` (user, api_key or system), ``ip``, ``user_agent``,
  ``request_id``: the event's ``CommandContext``;
- ``action`` ``"<resource type>.<event>"`` in snake case (``project.key_rotated``),
  ``resource`` ``{type, id}`` (the aggregate; for a denied attempt, its target);
- ``outcome``: ``success``, ``failure`` (``FAILURE_EVENTS``, or a change to a failed
  status) or ``denied`` (``AccessAttempt.Denied``);
- ``details``: allow-listed safe scalars (``SAFE_FIELDS``) and the *names* of changed
  fields; never secrets, digests, sealed values, tokens, URLs or payloads.

Operational traffic is not audit: ``EXCLUDED_AGGREGATES`` and ``EXCLUDED_EVENTS`` are
skipped. Events that do not name their organization (a project's later events, a
member's role change, an egress's progress) are placed through ``rm_audit_scopes``:
aggregate id -> (organization, project), inserted by each aggregate's first event and
cached on the writer; ids the cache lacks are fetched in one ``$in`` query per flush.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from pulse.projections.collections import AUDIT_LOG, AUDIT_SCOPES
from pulse.projections.model import Document, Projection
from pulse.projections.writes import utc

NAME = "audit_log"

EXCLUDED_AGGREGATES = frozenset(
    {
        "ParticipantSession",  # Participants joining, leaving, publishing: traffic.
        "Room",  # Room instances as LiveKit opens and closes them.
        "WebhookReceipt",  # De-duplication records of LiveKit's webhooks.
        "WebhookDelivery",  # Deliveries of webhooks to customers and their attempts.
        "TokenUsage",  # Counts of minted access tokens.
        "ApiUsage",  # Counts of API requests.
        "LiveKitAlias",  # LiveKit's egress/ingress ids tied to Pulse's.
        "Session",  # Sign-ins and refresh-token rotations: per user, not per organization.
        "User",  # Accounts (sign-up, password): per user, not per organization.
    }
)
"""Aggregates whose events are operational noise, or belong to no organization."""

EXCLUDED_EVENTS = frozenset(
    {
        ("Egress", "Metered"),  # Usage figures, for metering.
        ("Ingress", "Metered"),
        ("WebhookEndpoint", "FailureStreakStarted"),  # Delivery health bookkeeping.
        ("WebhookEndpoint", "FailureStreakEnded"),
    }
)
"""Single events of audited aggregates that are bookkeeping rather than actions."""

FAILURE_EVENTS = frozenset(
    {("Egress", "StartFailed"), ("Egress", "Lost"), ("Ingress", "CreateFailed")}
)
"""Events recording that something failed: outcome ``failure``."""

FAILED_STATUSES = frozenset({"failed", "error"})
"""A change to one of these statuses (LiveKit's report) is a failure too."""

DENIED_EVENTS = frozenset({("AccessAttempt", "Denied")})

SINGLE_EVENT_AGGREGATES = frozenset({"AccessAttempt"})
"""Aggregates with no later events: no scope is recorded for them."""

MAX_CACHED_SCOPES = 500_000
"""The writer forgets its cached scopes beyond this many (a rebuild of a large store);
they are in ``rm_audit_scopes`` and are fetched again when needed."""

SAFE_FIELDS = frozenset(
    {
        "name",
        "region",
        "plan",
        "role",
        "previous",
        "email",
        "user_id",
        "key_id",
        "new_key_id",
        "retired",
        "old_valid_until",
        "expires_at",
        "revoked_at",
        "deleted_at",
        "kind",
        "room",
        "layout",
        "audio_only",
        "identity",
        "participant_identity",
        "track_sid",
        "muted",
        "until",
        "reason",
        "by",
        "description",
        "event_types",
        "livekit_egress_id",
        "livekit_ingress_id",
        "error_code",
        "period",
        "status",
    }
)
"""Event attributes copied into ``details``, when they are plain values. An allow list:
a field added to an event later stays out until someone decides it is safe."""

SAFE_CHANGED_VALUES = frozenset({"status", "plan", "region", "role"})
"""Of a ``changes`` dict, only the names go to ``details``, and these values too."""

MAX_TEXT = 200
"""Longer texts in ``details`` are cut: the entry says what happened, not everything."""

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake(name: str) -> str:
    """``KeysRegenerated`` -> ``keys_regenerated``, ``RoomModeration`` -> ``room_moderation``."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def names_of(event: Any) -> tuple[str, str]:
    """(aggregate class name, event class name) of a domain event."""
    parts = type(event).__qualname__.split(".")
    return parts[0], parts[-1]


def is_audited(aggregate: str, event_name: str) -> bool:
    return aggregate not in EXCLUDED_AGGREGATES and (aggregate, event_name) not in EXCLUDED_EVENTS


def audited_topic(topic: str) -> bool:
    """Whether events of a stored topic (``module:Aggregate.Event``) are audited.

    Lets a runner skip excluded events before decoding them.
    """
    qualname = topic.rpartition(":")[2]
    parts = qualname.split(".")
    return is_audited(parts[0], parts[-1])


def _plain(value: Any) -> Any:
    """``value`` as a safe scalar for ``details``; ``_SKIP`` if it is not one."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, list | tuple | frozenset | set):
        items = [_plain(item) for item in value]
        if any(item is _SKIP or isinstance(item, list) for item in items):
            return _SKIP
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return _SKIP


_SKIP = object()


def details_of(event: Any, aggregate: str, event_name: str) -> Document:
    """The safe part of an event: allow-listed scalars, names of changed fields."""
    details: Document = {}
    fields = vars(event)
    for name in SAFE_FIELDS & fields.keys():
        value = _plain(fields[name])
        if value is not _SKIP:
            details[name] = value
    changes = fields.get("changes")
    if isinstance(changes, dict) and changes:
        details["changed"] = sorted(str(name) for name in changes)
        for name in SAFE_CHANGED_VALUES & changes.keys():
            value = _plain(changes[name])
            if value is not _SKIP:
                details[name] = value
    if (aggregate, event_name) in DENIED_EVENTS:
        details["attempted"] = _plain(str(fields.get("action", "")))
    return details


def outcome_of(event: Any, aggregate: str, event_name: str) -> str:
    if (aggregate, event_name) in DENIED_EVENTS:
        return "denied"
    if (aggregate, event_name) in FAILURE_EVENTS:
        return "failure"
    changes = getattr(event, "changes", None)
    if isinstance(changes, dict) and str(changes.get("status", "")) in FAILED_STATUSES:
        return "failure"
    return "success"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def entry_of(event: Any) -> Document | None:
    """The entry of an audited event, without its scope; None if not audited."""
    aggregate, event_name = names_of(event)
    if not is_audited(aggregate, event_name):
        return None
    resource_type = snake(aggregate)
    resource_id: str | None = str(event.originator_id)
    if (aggregate, event_name) in DENIED_EVENTS:
        resource_type = str(getattr(event, "resource_type", "") or "unknown")
        resource_id = _text(getattr(event, "resource_id", None))
    context = getattr(event, "context", None)
    return {
        "_id": f"{event.originator_id}:{event.originator_version}",
        "at": utc(event.timestamp),
        "actor": {
            "kind": str(getattr(context, "actor_kind", "system")),
            "id": str(getattr(context, "actor_id", "unknown")),
        },
        "ip": getattr(context, "ip", None),
        "user_agent": getattr(context, "user_agent", None),
        "request_id": getattr(context, "request_id", None),
        "action": f"{snake(aggregate)}.{snake(event_name)}",
        "resource": {"type": resource_type, "id": resource_id},
        "outcome": outcome_of(event, aggregate, event_name),
        "details": details_of(event, aggregate, event_name),
    }


Scope = tuple[str, str | None]
"""(organization id, project id or None)."""


@dataclass(slots=True)
class _Pending:
    entry: Document
    aggregate_id: str
    creates: bool
    """The aggregate's first event: its scope is recorded."""
    scope: Scope | None
    """Known from the event itself (it names its organization)."""
    lookup: str | None
    """Else the id whose scope is this event's: its project's, or its own aggregate's."""


def _pending(event: Any, entry: Document) -> _Pending:
    aggregate, _ = names_of(event)
    aggregate_id = str(event.originator_id)
    organization_id = getattr(event, "organization_id", None)
    project_id = getattr(event, "project_id", None)
    # Its first event records the aggregate's scope for its later events (an attempt
    # has none: it is one event).
    creates = int(event.originator_version) == 1 and aggregate not in SINGLE_EVENT_AGGREGATES
    if aggregate == "Organization":
        return _Pending(entry, aggregate_id, creates, (aggregate_id, None), None)
    if organization_id is not None:
        project = aggregate_id if aggregate == "Project" else _text(project_id)
        return _Pending(entry, aggregate_id, creates, (str(organization_id), project), None)
    if project_id is not None:
        return _Pending(entry, aggregate_id, creates, None, str(project_id))
    return _Pending(entry, aggregate_id, creates, None, aggregate_id)


def _insert_new(collection: Collection[Document], documents: list[Document]) -> None:
    """Insert, ignoring documents a previous (partial) flush inserted already."""
    if not documents:
        return
    try:
        collection.insert_many(documents, ordered=False)
    except BulkWriteError as error:
        if any(e.get("code") != 11000 for e in error.details.get("writeErrors", [])):
            raise
        if error.details.get("writeConcernErrors"):
            raise


class AuditLogWriter:
    """Buffers a page of entries, places them in their organization, inserts them."""

    def __init__(self, database: Database[Document]) -> None:
        self.log = database[AUDIT_LOG]
        self.scopes = database[AUDIT_SCOPES]
        self.known: dict[str, Scope | None] = {}
        """Aggregate id -> scope; None: looked up and not found (no need to ask again)."""
        self.pending: list[_Pending] = []

    def apply(self, notification_id: int, event: Any) -> None:
        entry = entry_of(event)
        if entry is not None:
            self.pending.append(_pending(event, entry))

    def _fetch_unknown(self) -> None:
        wanted = {p.lookup for p in self.pending if p.lookup is not None} - self.known.keys()
        if not wanted:
            return
        found = self.scopes.find({"_id": {"$in": sorted(wanted)}})
        for document in found:
            self.known[str(document["_id"])] = (
                str(document["organization_id"]),
                _text(document.get("project_id")),
            )

    def flush(self) -> None:
        if not self.pending:
            return
        if len(self.known) > MAX_CACHED_SCOPES:
            self.known.clear()
        self._fetch_unknown()
        entries: list[Document] = []
        scopes: list[Document] = []
        for pending in self.pending:
            scope = pending.scope
            if scope is None and pending.lookup is not None:
                # Its project's scope (a project's own is (organization, project)),
                # or its aggregate's, recorded by the aggregate's first event.
                scope = self.known.get(pending.lookup)
            if scope is not None and pending.creates and pending.aggregate_id not in self.known:
                self.known[pending.aggregate_id] = scope
                scopes.append(
                    {
                        "_id": pending.aggregate_id,
                        "organization_id": scope[0],
                        "project_id": scope[1],
                    }
                )
            organization_id, project_id = scope if scope is not None else (None, None)
            entries.append(
                {**pending.entry, "organization_id": organization_id, "project_id": project_id}
            )
        for pending in self.pending:
            # Looked up and still unknown: remembered, so later flushes do not ask again.
            if pending.lookup is not None:
                self.known.setdefault(pending.lookup, None)
        # Scopes first: entries written without theirs would be found by a replay that
        # then could not place later events.
        _insert_new(self.scopes, scopes)
        _insert_new(self.log, entries)
        self.pending = []


PROJECTION = Projection(
    name=NAME,
    collections=(AUDIT_LOG, AUDIT_SCOPES),
    writer=AuditLogWriter,
    writer_topics=audited_topic,
)
