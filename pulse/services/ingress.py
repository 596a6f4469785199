"""Ingress commands: create, delete, and reading one ingress of a project.

Creation follows the egress pattern (``pulse.services.egress``): record the request,
ask the project's region's LiveKit, record the answer (``inactive`` under LiveKit's
``IN_...`` id with its alias, or ``failed``). The stream key LiveKit answers with is
returned to the caller once and never recorded.

Deletion asks LiveKit first (an ingress LiveKit never created, or already forgot,
needs no call) and then records the ingress as deleted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import UUID, uuid4

from livekit.protocol import ingress as proto

from pulse.domain.context import CommandContext
from pulse.domain.ingress import Ingress, IngressKind, IngressStatus, check_request
from pulse.livekit.gateway import LiveKitGateway
from pulse.livekit.naming import check_room_name, livekit_room
from pulse.logging import get_logger
from pulse.services.application import PulseApplication
from pulse.services.clock import utc_now
from pulse.services.egress import active_project
from pulse.services.errors import ConflictError
from pulse.services.ingress_info import ingress_observation_of
from pulse.services.media_calls import (
    MediaRequestFailedError,
    livekit_code,
    media_call,
    recorded_reason,
)
from pulse.services.media_lookup import load_owned, new_alias
from pulse.services.media_views import ingress_view
from pulse.services.redaction import redact_source_url
from pulse.services.retries import retry_on_conflict
from pulse.services.views import View

log = get_logger(__name__)

_INPUT_OF = {
    IngressKind.RTMP: proto.IngressInput.RTMP_INPUT,
    IngressKind.WHIP: proto.IngressInput.WHIP_INPUT,
    IngressKind.URL: proto.IngressInput.URL_INPUT,
}


@dataclass(frozen=True)
class IngressSpec:
    room: str
    kind: IngressKind
    name: str
    participant_identity: str
    participant_name: str | None = None
    source_url: str | None = None
    """Full URL (a URL input); only its redacted form is recorded."""
    enable_transcoding: bool | None = None


@dataclass(frozen=True)
class CreatedIngress:
    ingress: View
    stream_key: str | None
    """Shown once, never recorded."""


def record_request(
    app: PulseApplication, project_id: UUID, spec: IngressSpec, context: CommandContext
) -> Ingress:
    project = active_project(app, project_id)
    check_room_name(spec.room)
    check_request(spec.kind, spec.source_url)
    ingress = Ingress(
        aggregate_id=uuid4(),
        project_id=project_id,
        room=spec.room,
        kind=spec.kind,
        name=spec.name,
        participant_identity=spec.participant_identity,
        participant_name=spec.participant_name,
        source_url=redact_source_url(spec.source_url) if spec.source_url else None,
        enable_transcoding=spec.enable_transcoding,
        region=project.region,
        context=context,
    )
    app.save(ingress)
    return ingress


def create_request(ingress: Ingress, spec: IngressSpec, room: str) -> proto.CreateIngressRequest:
    request = proto.CreateIngressRequest(
        input_type=_INPUT_OF[ingress.kind],
        name=ingress.name,
        room_name=room,
        participant_identity=ingress.participant_identity,
        participant_name=ingress.participant_name or "",
        url=spec.source_url or "",
    )
    if ingress.enable_transcoding is not None:
        request.enable_transcoding = ingress.enable_transcoding
    return request


def record_created(
    app: PulseApplication, ingress_id: UUID, info: proto.IngressInfo, context: CommandContext
) -> View:
    def command() -> View:
        ingress = app.load(ingress_id, Ingress)
        ingress.record_created(
            info.ingress_id,
            info.url or None,
            bool(info.reusable),
            ingress_observation_of(info),
            context,
        )
        app.save(ingress, new_alias(info.ingress_id, ingress, context))
        return ingress_view(ingress)

    return retry_on_conflict(command)


def record_refused(
    app: PulseApplication, ingress_id: UUID, error: Exception, context: CommandContext
) -> View:
    def command() -> View:
        ingress = app.load(ingress_id, Ingress)
        ingress.record_refused(livekit_code(error), recorded_reason(error), context)
        app.save(ingress)
        return ingress_view(ingress)

    return retry_on_conflict(command)


def get_ingress(app: PulseApplication, project_id: UUID, reference: str) -> View:
    """One ingress of the project, by Pulse's id or LiveKit's ``IN_...``."""
    ingress = load_owned(app, Ingress, project_id, reference)
    ingress.ensure_not_deleted()
    return ingress_view(ingress)


def deletable(app: PulseApplication, project_id: UUID, reference: str) -> Ingress:
    ingress = load_owned(app, Ingress, project_id, reference)
    ingress.ensure_not_deleted()
    if ingress.status is IngressStatus.REQUESTED:
        raise ConflictError("LiveKit has not answered the creation yet; try again shortly")
    return ingress


def record_deleted(app: PulseApplication, ingress_id: UUID, context: CommandContext) -> None:
    def command() -> None:
        ingress = app.load(ingress_id, Ingress)
        if ingress.is_deleted:
            return
        ingress.delete(utc_now(), context)
        app.save(ingress)

    retry_on_conflict(command)


async def create_ingress(
    app: PulseApplication,
    gateway: LiveKitGateway,
    project_id: UUID,
    spec: IngressSpec,
    context: CommandContext,
) -> CreatedIngress:
    """Record, ask LiveKit, record the answer; ``MediaRequestFailedError`` if refused."""
    ingress = await asyncio.to_thread(record_request, app, project_id, spec, context)
    request = create_request(ingress, spec, livekit_room(project_id, spec.room))
    try:
        async with media_call("create the ingress"):
            info = await gateway.api(ingress.region).ingress.create_ingress(request)
    except Exception as error:
        view = await asyncio.to_thread(record_refused, app, ingress.id, error, context)
        raise MediaRequestFailedError("ingress", view, error) from error
    try:
        view = await asyncio.to_thread(record_created, app, ingress.id, info, context)
    except Exception:
        await _delete_untracked(gateway, ingress.region, info.ingress_id)
        raise
    return CreatedIngress(ingress=view, stream_key=info.stream_key or None)


async def _delete_untracked(gateway: LiveKitGateway, region: str, livekit_id: str) -> None:
    try:
        async with media_call("delete an ingress Pulse could not record"):
            await gateway.api(region).ingress.delete_ingress(
                proto.DeleteIngressRequest(ingress_id=livekit_id)
            )
    except Exception:
        log.error("ingress_left_behind", livekit_ingress_id=livekit_id, exc_info=True)


async def delete_ingress(
    app: PulseApplication,
    gateway: LiveKitGateway,
    project_id: UUID,
    reference: str,
    context: CommandContext,
) -> None:
    """Delete the ingress on LiveKit (if LiveKit has it), then record the deletion."""
    ingress = await asyncio.to_thread(deletable, app, project_id, reference)
    if ingress.livekit_ingress_id and ingress.status is not IngressStatus.FAILED:
        try:
            async with media_call("delete the ingress"):
                await gateway.api(ingress.region).ingress.delete_ingress(
                    proto.DeleteIngressRequest(ingress_id=ingress.livekit_ingress_id)
                )
        except ConflictError as error:
            # LiveKit's not_found (refined to a conflict): it is gone there already.
            if livekit_code(error) != "not_found":
                raise
    await asyncio.to_thread(record_deleted, app, ingress.id, context)
