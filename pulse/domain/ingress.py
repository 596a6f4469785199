"""Ingress: an endpoint through which an outside stream (RTMP, WHIP, a URL) enters a room.

Lifecycle: requested -> inactive (created on LiveKit, nobody publishing) <->
buffering / publishing -> inactive again (RTMP and WHIP ingresses are reusable) |
complete (a URL input that ran to its end) | error; failed (LiveKit refused the
creation); deleted.

As for egress, the request is recorded before LiveKit is asked and the aggregate's
id is Pulse's UUID; LiveKit's ``IN_...`` id is tied to it by a ``LiveKitAlias``.

**The stream key is a secret and is never recorded.** Whoever holds it can publish
into the room, so it is handed to the caller once, in the answer to the creation,
and kept by LiveKit only: no event, read model or log holds it. A lost key means
deleting the ingress and creating another. A URL input's source URL is recorded
without its user info, query and fragment (where signed URLs keep their tokens).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.egress import Observation
from pulse.domain.errors import DeletedError, InvalidValueError, InvariantError


class IngressKind(StrEnum):
    RTMP = "rtmp"
    WHIP = "whip"
    URL = "url"


class IngressStatus(StrEnum):
    REQUESTED = "requested"
    INACTIVE = "inactive"
    BUFFERING = "buffering"
    PUBLISHING = "publishing"
    ERROR = "error"
    COMPLETE = "complete"
    FAILED = "failed"


_OBSERVED_FIELDS = frozenset({"livekit_status", "error", "started_at", "ended_at"})


def check_request(kind: IngressKind, source_url: str | None) -> None:
    if kind is IngressKind.URL and not source_url:
        raise InvalidValueError("A URL ingress needs the url to pull from")
    if kind is not IngressKind.URL and source_url:
        raise InvalidValueError("Only a URL ingress takes a url; RTMP and WHIP are pushed to")


IngressObservation = Observation[IngressStatus]
"""What LiveKit said about an ingress at one moment (an answer or a webhook); its
``updated_ns`` is LiveKit's ``state.updated_at``."""


class Ingress(Aggregate):
    @staticmethod
    def create_id(aggregate_id: UUID) -> UUID:
        return aggregate_id

    @event("Requested")
    def __init__(
        self,
        aggregate_id: UUID,
        project_id: UUID,
        room: str,
        kind: IngressKind,
        name: str,
        participant_identity: str,
        participant_name: str | None,
        source_url: str | None,
        enable_transcoding: bool | None,
        region: str,
        context: CommandContext,
    ) -> None:
        self.project_id = project_id
        self.room = room
        self.kind = IngressKind(kind)
        self.name = name
        self.participant_identity = participant_identity
        self.participant_name = participant_name
        self.source_url = source_url
        """Redacted: without user info, query or fragment."""
        self.enable_transcoding = enable_transcoding
        self.region = region
        self.status = IngressStatus.REQUESTED
        self.livekit_ingress_id: str | None = None
        self.livekit_status: str | None = None
        self.url: str | None = None
        """Where to push to (RTMP, WHIP); None for a URL input."""
        self.reusable = False
        self.error: str | None = None
        self.error_code: str | None = None
        self.started_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.observed_ns = 0
        self.deleted_at: datetime | None = None
        self.metered_started_at: datetime | None = None
        """The start of the last publishing period metered (``Metered``)."""

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def ensure_not_deleted(self) -> None:
        if self.is_deleted:
            raise DeletedError("The ingress was deleted")

    # -- LiveKit's answer to the creation ---------------------------------------------

    def record_created(
        self,
        livekit_ingress_id: str,
        url: str | None,
        reusable: bool,
        observation: IngressObservation,
        context: CommandContext,
    ) -> None:
        self._ensure_requested()
        self._created(
            livekit_ingress_id=livekit_ingress_id,
            url=url,
            reusable=reusable,
            changes={**self._diff(observation.changes), "status": str(observation.status)},
            observed_ns=observation.updated_ns,
            context=context,
        )
        self._meter_ended_period(context)

    @event("Created")
    def _created(
        self,
        livekit_ingress_id: str,
        url: str | None,
        reusable: bool,
        changes: dict[str, Any],
        observed_ns: int,
        context: CommandContext,
    ) -> None:
        self.livekit_ingress_id = livekit_ingress_id
        self.url = url
        self.reusable = reusable
        self._apply(changes, observed_ns)

    def record_refused(self, error_code: str, error: str, context: CommandContext) -> None:
        self._ensure_requested()
        self._create_failed(
            changes={
                "status": str(IngressStatus.FAILED),
                "error": error,
                "error_code": error_code,
            },
            context=context,
        )

    @event("CreateFailed")
    def _create_failed(self, changes: dict[str, Any], context: CommandContext) -> None:
        self._apply(changes, self.observed_ns)

    def _ensure_requested(self) -> None:
        self.ensure_not_deleted()
        if self.status is not IngressStatus.REQUESTED:
            raise InvariantError("LiveKit's answer to this ingress was already recorded")

    # -- LiveKit's reports ----------------------------------------------------------

    def is_stale(self, observation: IngressObservation) -> bool:
        if self.is_deleted or self.status in (IngressStatus.REQUESTED, IngressStatus.FAILED):
            return True
        return observation.is_older_than(self.observed_ns)

    def observe(self, observation: IngressObservation, context: CommandContext) -> bool:
        """Apply a report from LiveKit unless it is stale; True if anything changed."""
        if self.is_stale(observation):
            return False
        changes = self._diff({**observation.changes, "status": str(observation.status)})
        if not changes:
            return False
        self._updated(
            changes=changes,
            observed_ns=max(self.observed_ns, observation.updated_ns),
            context=context,
        )
        self._meter_ended_period(context)
        return True

    @event("Updated")
    def _updated(self, changes: dict[str, Any], observed_ns: int, context: CommandContext) -> None:
        self._apply(changes, observed_ns)

    # -- Deletion -------------------------------------------------------------------

    def delete(self, deleted_at: datetime, context: CommandContext) -> None:
        self.ensure_not_deleted()
        # LiveKit's report of the end would now be ignored (a deleted ingress takes no
        # reports): a period still running ends here.
        if self.status in (IngressStatus.BUFFERING, IngressStatus.PUBLISHING):
            self._meter_period(self._open_period_start(), deleted_at, context)
        self._deleted(deleted_at=deleted_at, context=context)

    @event("Deleted")
    def _deleted(self, deleted_at: datetime, context: CommandContext) -> None:
        self.deleted_at = deleted_at

    # -- Usage ----------------------------------------------------------------------

    def _open_period_start(self) -> datetime | None:
        """The start of a publishing period not metered yet, if LiveKit reported one."""
        start = self.started_at
        if start is None or start == self.metered_started_at:
            return None
        return start

    def _meter_ended_period(self, context: CommandContext) -> None:
        """Meter the publishing period LiveKit reports ended, once per period.

        LiveKit reports ``started_at``/``ended_at`` per publishing session, and a
        reusable (RTMP, WHIP) ingress starts again with a new ``started_at`` and no
        end, so a period is known by its start. An end before the start is the
        previous period's, not yet cleared: that period is not over.
        """
        start, end = self._open_period_start(), self.ended_at
        if start is not None and end is not None and end >= start:
            self._meter_period(start, end, context)

    def _meter_period(self, start: datetime | None, end: datetime, context: CommandContext) -> None:
        if start is None:
            return
        self._metered(project_id=self.project_id, started_at=start, ended_at=end, context=context)

    @event("Metered")
    def _metered(
        self, project_id: UUID, started_at: datetime, ended_at: datetime, context: CommandContext
    ) -> None:
        self.metered_started_at = started_at

    # -- State ----------------------------------------------------------------------

    def _diff(self, proposed: dict[str, Any]) -> dict[str, Any]:
        unknown = set(proposed) - _OBSERVED_FIELDS - {"status"}
        if unknown:
            raise ValueError(f"Not fields an observation may change: {sorted(unknown)}")
        return {k: v for k, v in proposed.items() if getattr(self, k) != v}

    def _apply(self, changes: dict[str, Any], observed_ns: int) -> None:
        for name, value in changes.items():
            setattr(self, name, IngressStatus(value) if name == "status" else value)
        self.observed_ns = observed_ns
