"""Egress: one recording or live stream of a room, from Pulse's request to LiveKit's last word.

Lifecycle: requested -> active -> ending -> complete | failed.

- **requested**: Pulse recorded the request *before* asking LiveKit, so whatever
  LiveKit answers (or if it never answers) the request is not lost.
- **active**: LiveKit accepted it and assigned its ``EG_...`` id.
- **ending**: a stop was requested (or LiveKit reported it is finishing).
- **complete** / **failed**: LiveKit's last word (a webhook, or its answer to
  reconciliation), LiveKit's refusal of the start (failed, with LiveKit's message),
  or reconciliation finding that LiveKit no longer knows it (failed, ``record_lost``).

The aggregate's id is Pulse's own UUID, chosen with the request: LiveKit assigns its
egress id only when it accepts the egress, and a refused request has none. The two
are tied by a ``LiveKitAlias`` saved with LiveKit's answer (``livekit_alias``).

LiveKit's reports (the start and stop answers, the webhooks) arrive as an
``Observation`` of plain values; a report older than what the aggregate already
knows (an ``egress_updated`` after ``egress_ended``, an "active" after "ending") is
ignored, so redelivered or reordered webhooks never move an egress backwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.errors import InvalidValueError, InvariantError


class EgressKind(StrEnum):
    ROOM_COMPOSITE = "room_composite"
    TRACK_COMPOSITE = "track_composite"
    TRACK = "track"


class Layout(StrEnum):
    """LiveKit's built-in room-composite layouts."""

    SPEAKER = "speaker"
    GRID = "grid"
    SINGLE_SPEAKER = "single-speaker"


class EgressStatus(StrEnum):
    REQUESTED = "requested"
    ACTIVE = "active"
    ENDING = "ending"
    COMPLETE = "complete"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        """How far along the lifecycle; a report never moves an egress to a lower rank."""
        return _RANK[self]

    @property
    def is_terminal(self) -> bool:
        return self in (EgressStatus.COMPLETE, EgressStatus.FAILED)


_RANK = {
    EgressStatus.REQUESTED: 0,
    EgressStatus.ACTIVE: 1,
    EgressStatus.ENDING: 2,
    EgressStatus.COMPLETE: 3,
    EgressStatus.FAILED: 3,
}

OUTPUT_KINDS = ("file", "hls", "rtmp")

# Resource fields an observation may change (anything else in one is a bug).
_OBSERVED_FIELDS = frozenset(
    {"livekit_status", "started_at", "ended_at", "error", "error_code", "details", "results"}
)


def empty_results() -> dict[str, list[dict[str, Any]]]:
    """What LiveKit reported as produced: files, HLS playlists, streams."""
    return {"files": [], "playlists": [], "streams": []}


def output_bytes(results: dict[str, list[dict[str, Any]]]) -> int:
    """Bytes of the files and HLS segments LiveKit reports written (streams report none)."""
    written = results.get("files", []) + results.get("playlists", [])
    return sum(int(item.get("size_bytes") or 0) for item in written)


def check_request(
    kind: EgressKind,
    layout: Layout | None,
    audio_track_id: str | None,
    video_track_id: str | None,
    track_id: str | None,
    outputs: dict[str, Any],
) -> None:
    """The source and outputs an egress of ``kind`` needs (LiveKit's own rules)."""
    present = [name for name in OUTPUT_KINDS if outputs.get(name)]
    if not present:
        raise InvalidValueError("An egress needs at least one output: file, hls or rtmp")
    if kind is EgressKind.ROOM_COMPOSITE:
        if audio_track_id or video_track_id or track_id:
            raise InvalidValueError("A room composite records the whole room: no track ids")
        return
    if layout is not None:
        raise InvalidValueError("A layout applies to room composites only")
    if kind is EgressKind.TRACK_COMPOSITE:
        if not (audio_track_id or video_track_id) or track_id:
            raise InvalidValueError(
                "A track composite takes audio_track_id and/or video_track_id (not track_id)"
            )
        return
    if not track_id or audio_track_id or video_track_id:
        raise InvalidValueError("A track egress takes exactly one track_id")
    if present != ["file"]:
        raise InvalidValueError("A track egress writes the track as it is: file output only")


S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class Observation(Generic[S]):
    """What LiveKit said about an egress (or an ingress) at one moment, as plain values."""

    status: S
    updated_ns: int
    """LiveKit's ``updated_at`` (nanoseconds; 0 if it gave none): orders the reports."""
    changes: dict[str, Any] = field(default_factory=dict)
    """New values of resource fields (the aggregate's ``_OBSERVED_FIELDS``)."""

    def is_older_than(self, observed_ns: int) -> bool:
        """Reported before the last report applied (a report without a time never is)."""
        return 0 < self.updated_ns < observed_ns


class Egress(Aggregate):
    @staticmethod
    def create_id(aggregate_id: UUID) -> UUID:
        # Chosen by the service before the request is recorded, so that storage paths
        # (and the answer to the caller) can name the egress before LiveKit does.
        return aggregate_id

    @event("Requested")
    def __init__(
        self,
        aggregate_id: UUID,
        project_id: UUID,
        room: str,
        kind: EgressKind,
        layout: Layout | None,
        audio_only: bool,
        audio_track_id: str | None,
        video_track_id: str | None,
        track_id: str | None,
        outputs: dict[str, Any],
        playback_url: str | None,
        region: str,
        context: CommandContext,
    ) -> None:
        self.project_id = project_id
        self.room = room
        self.kind = EgressKind(kind)
        self.layout = None if layout is None else Layout(layout)
        self.audio_only = audio_only
        self.audio_track_id = audio_track_id
        self.video_track_id = video_track_id
        self.track_id = track_id
        self.outputs = outputs
        """Public description of the outputs: storage keys, redacted stream URLs."""
        self.playback_url = playback_url
        self.region = region
        self.status = EgressStatus.REQUESTED
        self.livekit_egress_id: str | None = None
        self.livekit_status: str | None = None
        self.started_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.error: str | None = None
        self.error_code: str | None = None
        self.details: str | None = None
        self.results: dict[str, list[dict[str, Any]]] = empty_results()
        self.recording_available = False
        self.observed_ns = 0
        self.metered = False
        """Its usage was recorded (``Metered``): once, when it first ended."""

    @property
    def public_base_url(self) -> str | None:
        storage = self.outputs.get("storage") or {}
        value = storage.get("public_base_url")
        return None if value is None else str(value)

    # -- LiveKit's answer to the start ----------------------------------------------

    def record_started(
        self,
        livekit_egress_id: str,
        observation: Observation[EgressStatus],
        context: CommandContext,
    ) -> None:
        """LiveKit accepted the egress: it is active under LiveKit's id."""
        self._ensure_requested()
        changes = self._diff(observation.changes)
        changes["status"] = str(EgressStatus.ACTIVE)
        self._started(
            livekit_egress_id=livekit_egress_id,
            changes=changes,
            observed_ns=observation.updated_ns,
            context=context,
        )
        # LiveKit may already report more than "starting" (rare): apply it as a report.
        self.observe(observation, context)

    @event("Started")
    def _started(
        self,
        livekit_egress_id: str,
        changes: dict[str, Any],
        observed_ns: int,
        context: CommandContext,
    ) -> None:
        self.livekit_egress_id = livekit_egress_id
        self._apply(changes, observed_ns)

    def record_refused(
        self, error_code: str, error: str, at: datetime, context: CommandContext
    ) -> None:
        """LiveKit refused the start, or could not be asked: the egress failed."""
        self._ensure_requested()
        self._start_failed(
            changes={
                "status": str(EgressStatus.FAILED),
                "error": error,
                "error_code": error_code,
                "ended_at": at,
            },
            context=context,
        )
        self._meter_once_ended(context)

    @event("StartFailed")
    def _start_failed(self, changes: dict[str, Any], context: CommandContext) -> None:
        self._apply(changes, self.observed_ns)

    def _ensure_requested(self) -> None:
        if self.status is not EgressStatus.REQUESTED:
            raise InvariantError("LiveKit's answer to this egress was already recorded")

    # -- Stop -----------------------------------------------------------------------

    def ensure_stoppable(self) -> None:
        """Refuse a stop before asking LiveKit, if the egress cannot be stopped."""
        if self.status is EgressStatus.REQUESTED:
            raise InvariantError("LiveKit has not accepted this egress yet; try again shortly")
        if self.status.is_terminal:
            raise InvariantError(f"The egress has already ended ({self.status})")
        if self.status is EgressStatus.ENDING:
            raise InvariantError("The egress is already ending")

    def record_stopping(
        self, observation: Observation[EgressStatus], context: CommandContext
    ) -> None:
        """LiveKit accepted the stop. A webhook may have moved the egress on meanwhile."""
        if self.status is EgressStatus.ACTIVE:
            self._stop_requested(
                changes={"status": str(EgressStatus.ENDING)},
                observed_ns=self.observed_ns,
                context=context,
            )
        self.observe(observation, context)

    @event("StopRequested")
    def _stop_requested(
        self, changes: dict[str, Any], observed_ns: int, context: CommandContext
    ) -> None:
        self._apply(changes, observed_ns)

    # -- LiveKit's reports ----------------------------------------------------------

    def is_stale(self, observation: Observation[EgressStatus]) -> bool:
        if self.status is EgressStatus.REQUESTED or self.status.is_terminal:
            return True
        if observation.status.rank < self.status.rank:
            return True
        return observation.is_older_than(self.observed_ns)

    def observe(self, observation: Observation[EgressStatus], context: CommandContext) -> bool:
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
        self._meter_once_ended(context)
        return True

    @event("Updated")
    def _updated(self, changes: dict[str, Any], observed_ns: int, context: CommandContext) -> None:
        self._apply(changes, observed_ns)

    # -- Reconciliation -------------------------------------------------------------

    def record_lost(self, at: datetime, reason: str, context: CommandContext) -> bool:
        """LiveKit no longer knows this running egress: its last word never reached Pulse.

        Failed, because what was written is unknown; ``at`` is the last moment Pulse
        knew it running (an end LiveKit already reported is kept). False, changing
        nothing, if it has ended already or LiveKit never accepted it.
        """
        if self.status not in (EgressStatus.ACTIVE, EgressStatus.ENDING):
            return False
        proposed: dict[str, Any] = {
            "status": str(EgressStatus.FAILED),
            "error": reason,
            "error_code": "not_found",
        }
        if self.ended_at is None:
            proposed["ended_at"] = at
        self._lost(changes=self._diff(proposed), context=context)
        self._meter_once_ended(context)
        return True

    @event("Lost")
    def _lost(self, changes: dict[str, Any], context: CommandContext) -> None:
        self._apply(changes, self.observed_ns)

    # -- Usage ----------------------------------------------------------------------

    def _meter_once_ended(self, context: CommandContext) -> None:
        """Record the egress's usage the first time it ends, in the same save as the end.

        Minutes run from LiveKit's ``started_at`` to its ``ended_at`` (none if LiveKit
        never reported a start: a refused egress recorded nothing). Storage is the
        size of the files and HLS segments LiveKit reports it wrote; bandwidth is the
        same bytes, uploaded to the storage. LiveKit OSS reports no per-room media
        transfer, so bandwidth counts egress output only, and RTMP streams (for which
        LiveKit reports no byte count) add none.
        """
        if self.metered or not self.status.is_terminal:
            return
        written = output_bytes(self.results)
        self._metered(
            project_id=self.project_id,
            started_at=self.started_at,
            ended_at=self.ended_at,
            storage_bytes=written,
            bandwidth_bytes=written,
            context=context,
        )

    @event("Metered")
    def _metered(
        self,
        project_id: UUID,
        started_at: datetime | None,
        ended_at: datetime | None,
        storage_bytes: int,
        bandwidth_bytes: int,
        context: CommandContext,
    ) -> None:
        self.metered = True

    # -- State ----------------------------------------------------------------------

    def _diff(self, proposed: dict[str, Any]) -> dict[str, Any]:
        """The proposed values that differ from the current ones, with what they imply."""
        unknown = set(proposed) - _OBSERVED_FIELDS - {"status"}
        if unknown:
            raise ValueError(f"Not fields an observation may change: {sorted(unknown)}")
        changes = {k: v for k, v in proposed.items() if getattr(self, k) != v}
        status = EgressStatus(changes.get("status", self.status))
        results = changes.get("results", self.results)
        available = status is EgressStatus.COMPLETE and bool(
            results.get("files") or results.get("playlists")
        )
        if available != self.recording_available:
            changes["recording_available"] = available
        return changes

    def _apply(self, changes: dict[str, Any], observed_ns: int) -> None:
        for name, value in changes.items():
            setattr(self, name, EgressStatus(value) if name == "status" else value)
        self.observed_ns = observed_ns
