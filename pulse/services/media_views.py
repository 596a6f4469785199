"""Egresses and ingresses as the API shows them, built from their aggregates.

Field names match the read models' documents (``rm_egresses``, ``rm_ingresses``),
with ``id`` for ``_id``, so a resource looks the same from a command, a GET and a list.
"""

from __future__ import annotations

from pulse.domain.egress import Egress
from pulse.domain.ingress import Ingress
from pulse.services.views import View, ms


def egress_view(egress: Egress) -> View:
    return {
        "id": str(egress.id),
        "project_id": str(egress.project_id),
        "room": egress.room,
        "kind": str(egress.kind),
        "layout": None if egress.layout is None else str(egress.layout),
        "audio_only": egress.audio_only,
        "audio_track_id": egress.audio_track_id,
        "video_track_id": egress.video_track_id,
        "track_id": egress.track_id,
        "region": egress.region,
        "status": str(egress.status),
        "livekit_egress_id": egress.livekit_egress_id,
        "livekit_status": egress.livekit_status,
        "outputs": egress.outputs,
        "playback_url": egress.playback_url,
        "recording_available": egress.recording_available,
        "results": egress.results,
        "error": egress.error,
        "error_code": egress.error_code,
        "details": egress.details,
        "started_at": ms(egress.started_at),
        "ended_at": ms(egress.ended_at),
        "created_at": ms(egress.created_on),
        "updated_at": ms(egress.modified_on),
    }


def ingress_view(ingress: Ingress) -> View:
    return {
        "id": str(ingress.id),
        "project_id": str(ingress.project_id),
        "room": ingress.room,
        "kind": str(ingress.kind),
        "name": ingress.name,
        "participant_identity": ingress.participant_identity,
        "participant_name": ingress.participant_name,
        "source_url": ingress.source_url,
        "enable_transcoding": ingress.enable_transcoding,
        "region": ingress.region,
        "status": str(ingress.status),
        "livekit_ingress_id": ingress.livekit_ingress_id,
        "livekit_status": ingress.livekit_status,
        "url": ingress.url,
        "reusable": ingress.reusable,
        "error": ingress.error,
        "error_code": ingress.error_code,
        "started_at": ms(ingress.started_at),
        "ended_at": ms(ingress.ended_at),
        "created_at": ms(ingress.created_on),
        "updated_at": ms(ingress.modified_on),
    }
