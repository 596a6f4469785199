"""Aggregates that produce usage events, built directly (no LiveKit, no API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from pulse.domain.api_usage import ApiUsage
from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.egress import Egress, EgressKind, EgressStatus, Layout, Observation
from pulse.domain.ingress import Ingress, IngressKind, IngressObservation, IngressStatus
from pulse.domain.participant_session import ParticipantSession
from pulse.domain.room import ClosedBy, room_id

LIVEKIT = CommandContext(ActorKind.SYSTEM, "livekit")
API = CommandContext(ActorKind.API_KEY, "key-1")


def stay(project_id: UUID, joined_at: datetime, left_at: datetime) -> ParticipantSession:
    """A participant session that joined and left (two events: Joined, Left)."""
    session = ParticipantSession(
        project_id=project_id,
        room_id=room_id("RM_usage"),
        room_name="usage",
        room_sid="RM_usage",
        participant_sid=f"PA_{uuid4().hex}",
        identity="alice",
        name="Alice",
        joined_at=joined_at,
        context=LIVEKIT,
    )
    session.leave(left_at, ClosedBy.WEBHOOK, "participant_left", LIVEKIT)
    return session


def new_egress(project_id: UUID) -> Egress:
    return Egress(
        aggregate_id=uuid4(),
        project_id=project_id,
        room="show",
        kind=EgressKind.ROOM_COMPOSITE,
        layout=Layout.SPEAKER,
        audio_only=False,
        audio_track_id=None,
        video_track_id=None,
        track_id=None,
        outputs={"file": {}, "hls": {}, "rtmp": {"urls": ["rtmp://x/live/***"]}},
        playback_url=None,
        region="eu-west",
        context=API,
    )


def results(file_bytes: int = 0, hls_bytes: int = 0, streams: int = 0) -> dict[str, Any]:
    return {
        "files": [{"filename": "r.mp4", "size_bytes": file_bytes}] if file_bytes else [],
        "playlists": [{"playlist_name": "r.m3u8", "size_bytes": hls_bytes}] if hls_bytes else [],
        "streams": [{"url": "rtmp://x/live/***", "status": "finished"}] * streams,
    }


def recorded_egress(
    project_id: UUID,
    started_at: datetime,
    ended_at: datetime,
    file_bytes: int = 0,
    hls_bytes: int = 0,
) -> Egress:
    """An egress LiveKit started and completed, reporting what it wrote."""
    egress = new_egress(project_id)
    egress.record_started(
        "EG_" + uuid4().hex[:8],
        Observation(EgressStatus.ACTIVE, 10, {"started_at": started_at}),
        API,
    )
    egress.observe(
        Observation(
            EgressStatus.COMPLETE,
            20,
            {"ended_at": ended_at, "results": results(file_bytes, hls_bytes, streams=1)},
        ),
        LIVEKIT,
    )
    return egress


def new_ingress(project_id: UUID) -> Ingress:
    ingress = Ingress(
        aggregate_id=uuid4(),
        project_id=project_id,
        room="stage",
        kind=IngressKind.RTMP,
        name="OBS",
        participant_identity="obs",
        participant_name=None,
        source_url=None,
        enable_transcoding=None,
        region="eu-west",
        context=API,
    )
    ingress.record_created(
        "IN_" + uuid4().hex[:8],
        "rtmp://x/live",
        True,
        IngressObservation(IngressStatus.INACTIVE, 1, {}),
        API,
    )
    return ingress


def ingress_seen(
    status: IngressStatus, ns: int, started_at: datetime | None, ended_at: datetime | None
) -> IngressObservation:
    """As ``ingress_observation_of`` reports it: both times, each possibly unknown."""
    return IngressObservation(
        status=status, updated_ns=ns, changes={"started_at": started_at, "ended_at": ended_at}
    )


def published_ingress(project_id: UUID, started_at: datetime, ended_at: datetime) -> Ingress:
    """An ingress that published once, from ``started_at`` to ``ended_at``."""
    ingress = new_ingress(project_id)
    ingress.observe(ingress_seen(IngressStatus.PUBLISHING, 5, started_at, None), LIVEKIT)
    ingress.observe(ingress_seen(IngressStatus.INACTIVE, 9, started_at, ended_at), LIVEKIT)
    return ingress


def api_counted(project_id: UUID, hour: datetime, count: int, batch: str | None = None) -> ApiUsage:
    return ApiUsage(
        project_id=project_id,
        hour=hour,
        count=count,
        batch=batch or uuid4().hex,
        context=CommandContext.system("api usage flush"),
    )
