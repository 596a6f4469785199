"""Egress commands: start, stop, and reading one egress of a project.

Starting an egress is three steps, so that nothing is lost or left dangling:

1. record the request (``requested``), with the storage keys it will write to;
2. ask the project's region's LiveKit to start it;
3. record LiveKit's answer: ``active`` under LiveKit's ``EG_...`` id (with the alias
   that lets webhooks find it), or ``failed`` with LiveKit's refusal, which the
   caller then gets as a problem naming the recorded egress.

If step 3 cannot be saved after LiveKit started the egress, Pulse stops it again
(best effort) rather than leave a recording that nothing tracks.

The event store is synchronous, so each step that touches it runs in a worker
thread, while the LiveKit calls are awaited on the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from livekit.protocol import egress as proto

from pulse.domain.context import CommandContext
from pulse.domain.egress import Egress, EgressKind, Layout, check_request
from pulse.domain.project import Project
from pulse.livekit.gateway import LiveKitGateway
from pulse.livekit.naming import check_room_name, livekit_room
from pulse.logging import get_logger
from pulse.services.application import PulseApplication
from pulse.services.clock import utc_now
from pulse.services.egress_info import observation_of
from pulse.services.egress_outputs import OutputsRequest, plan_outputs
from pulse.services.egress_requests import send_start, start_request
from pulse.services.media_calls import (
    MediaRequestFailedError,
    livekit_code,
    media_call,
    recorded_reason,
)
from pulse.services.media_lookup import load_owned, new_alias
from pulse.services.media_views import egress_view
from pulse.services.retries import retry_on_conflict
from pulse.services.storage_secrets import StorageSecrets
from pulse.services.views import View

log = get_logger(__name__)


@dataclass(frozen=True)
class EgressSpec:
    """What the caller asked to record, and where to."""

    room: str
    kind: EgressKind
    outputs: OutputsRequest
    layout: Layout | None = None
    audio_only: bool = False
    audio_track_id: str | None = None
    video_track_id: str | None = None
    track_id: str | None = None


@dataclass(frozen=True)
class RecordedRequest:
    egress: Egress
    storage: dict[str, Any] | None
    """The project's storage with its secret opened: for the LiveKit request only."""


def active_project(app: PulseApplication, project_id: UUID) -> Project:
    project = app.load(project_id, Project)
    project.ensure_active()
    return project


# -- Synchronous steps (event store) ---------------------------------------------------


def record_request(
    app: PulseApplication,
    secrets: StorageSecrets,
    project_id: UUID,
    spec: EgressSpec,
    context: CommandContext,
) -> RecordedRequest:
    """Step 1: check the request and record it, before LiveKit is asked."""
    project = active_project(app, project_id)
    check_room_name(spec.room)
    layout = spec.layout
    if spec.kind is EgressKind.ROOM_COMPOSITE and layout is None:
        layout = Layout.SPEAKER
    check_request(
        spec.kind,
        layout,
        spec.audio_track_id,
        spec.video_track_id,
        spec.track_id,
        spec.outputs.presence(),
    )
    egress_id = uuid4()
    storage = secrets.open(project.storage)
    planned = plan_outputs(
        spec.room, egress_id, spec.kind is EgressKind.TRACK, spec.outputs, storage
    )
    egress = Egress(
        aggregate_id=egress_id,
        project_id=project_id,
        room=spec.room,
        kind=spec.kind,
        layout=layout,
        audio_only=spec.audio_only,
        audio_track_id=spec.audio_track_id,
        video_track_id=spec.video_track_id,
        track_id=spec.track_id,
        outputs=planned.public,
        playback_url=planned.playback_url,
        region=project.region,
        context=context,
    )
    app.save(egress)
    return RecordedRequest(egress=egress, storage=storage)


def record_started(
    app: PulseApplication, egress_id: UUID, info: proto.EgressInfo, context: CommandContext
) -> View:
    """Step 3, accepted: active under LiveKit's id, with the alias webhooks look up."""

    def command() -> View:
        egress = app.load(egress_id, Egress)
        observation = observation_of(info, egress.public_base_url)
        egress.record_started(info.egress_id, observation, context)
        app.save(egress, new_alias(info.egress_id, egress, context))
        return egress_view(egress)

    return retry_on_conflict(command)


def record_refused(
    app: PulseApplication, egress_id: UUID, error: Exception, context: CommandContext
) -> View:
    """Step 3, refused: failed, with LiveKit's code and message."""

    def command() -> View:
        egress = app.load(egress_id, Egress)
        egress.record_refused(livekit_code(error), recorded_reason(error), utc_now(), context)
        app.save(egress)
        return egress_view(egress)

    return retry_on_conflict(command)


def stoppable(app: PulseApplication, project_id: UUID, reference: str) -> Egress:
    egress = load_owned(app, Egress, project_id, reference)
    egress.ensure_stoppable()
    return egress


def record_stopping(
    app: PulseApplication, egress_id: UUID, info: proto.EgressInfo, context: CommandContext
) -> View:
    def command() -> View:
        egress = app.load(egress_id, Egress)
        egress.record_stopping(observation_of(info, egress.public_base_url), context)
        app.save(egress)
        return egress_view(egress)

    return retry_on_conflict(command)


def get_egress(app: PulseApplication, project_id: UUID, reference: str) -> View:
    """One egress of the project, by Pulse's id or LiveKit's ``EG_...``."""
    return egress_view(load_owned(app, Egress, project_id, reference))


# -- Commands ---------------------------------------------------------------------------


async def start_egress(
    app: PulseApplication,
    gateway: LiveKitGateway,
    secrets: StorageSecrets,
    project_id: UUID,
    spec: EgressSpec,
    context: CommandContext,
) -> View:
    """Record, ask LiveKit, record the answer; ``MediaRequestFailedError`` if refused."""
    recorded = await asyncio.to_thread(record_request, app, secrets, project_id, spec, context)
    egress = recorded.egress
    request = start_request(
        egress, livekit_room(project_id, spec.room), recorded.storage, spec.outputs.rtmp_urls
    )
    try:
        async with media_call("start the egress"):
            info = await send_start(gateway.api(egress.region), request)
    except Exception as error:
        view = await asyncio.to_thread(record_refused, app, egress.id, error, context)
        raise MediaRequestFailedError("egress", view, error) from error
    try:
        return await asyncio.to_thread(record_started, app, egress.id, info, context)
    except Exception:
        await _stop_untracked(gateway, egress.region, info.egress_id)
        raise


async def _stop_untracked(gateway: LiveKitGateway, region: str, livekit_egress_id: str) -> None:
    """Compensation: an egress Pulse could not record as started must not run on."""
    try:
        async with media_call("stop an egress Pulse could not record"):
            await gateway.api(region).egress.stop_egress(
                proto.StopEgressRequest(egress_id=livekit_egress_id)
            )
    except Exception:
        log.error("egress_left_running", livekit_egress_id=livekit_egress_id, exc_info=True)


async def stop_egress(
    app: PulseApplication,
    gateway: LiveKitGateway,
    project_id: UUID,
    reference: str,
    context: CommandContext,
) -> View:
    """Ask LiveKit to stop the egress, then record it as ending.

    Nothing is recorded when LiveKit refuses: the egress still runs as before.
    """
    egress = await asyncio.to_thread(stoppable, app, project_id, reference)
    async with media_call("stop the egress"):
        info = await gateway.api(egress.region).egress.stop_egress(
            proto.StopEgressRequest(egress_id=egress.livekit_egress_id or "")
        )
    return await asyncio.to_thread(record_stopping, app, egress.id, info, context)
