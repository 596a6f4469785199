"""LiveKit's ``EgressInfo`` (an answer or a webhook's payload) as an ``Observation``.

Only facts are taken: status, times, error, and what was produced (files, HLS
playlists, streams). The request LiveKit echoes inside ``EgressInfo`` is ignored:
it may carry the upload credentials and stream keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from livekit.protocol import egress as proto

from pulse.domain.egress import EgressStatus, Observation, empty_results
from pulse.services.egress_outputs import cdn_url
from pulse.services.redaction import redact_stream_url
from pulse.services.views import ms

_STATUS = {
    proto.EgressStatus.EGRESS_STARTING: EgressStatus.ACTIVE,
    proto.EgressStatus.EGRESS_ACTIVE: EgressStatus.ACTIVE,
    proto.EgressStatus.EGRESS_ENDING: EgressStatus.ENDING,
    proto.EgressStatus.EGRESS_COMPLETE: EgressStatus.COMPLETE,
    # Stopped at a limit (duration, size): what was recorded is there.
    proto.EgressStatus.EGRESS_LIMIT_REACHED: EgressStatus.COMPLETE,
    proto.EgressStatus.EGRESS_FAILED: EgressStatus.FAILED,
    proto.EgressStatus.EGRESS_ABORTED: EgressStatus.FAILED,
}

_STREAM_STATUS = {
    proto.StreamInfo.Status.ACTIVE: "active",
    proto.StreamInfo.Status.FINISHED: "finished",
    proto.StreamInfo.Status.FAILED: "failed",
}


def at(nanoseconds: int) -> datetime | None:
    """LiveKit's times are Unix nanoseconds (0: not yet); to the millisecond, as stored."""
    if nanoseconds <= 0:
        return None
    return ms(datetime.fromtimestamp(nanoseconds / 1e9, UTC))


def seconds(nanoseconds: int) -> float | None:
    return round(nanoseconds / 1e9, 3) if nanoseconds > 0 else None


def _file(info: proto.FileInfo, base: str | None) -> dict[str, Any]:
    return {
        "filename": info.filename,
        "location": info.location or None,
        "url": cdn_url(base, info.filename),
        "size_bytes": info.size,
        "duration_seconds": seconds(info.duration),
        "started_at": at(info.started_at),
        "ended_at": at(info.ended_at),
    }


def _playlist(info: proto.SegmentsInfo, base: str | None) -> dict[str, Any]:
    return {
        "playlist_name": info.playlist_name,
        "playlist_location": info.playlist_location or None,
        "live_playlist_name": info.live_playlist_name or None,
        "live_playlist_location": info.live_playlist_location or None,
        "url": cdn_url(base, info.playlist_name),
        "segment_count": info.segment_count,
        "size_bytes": info.size,
        "duration_seconds": seconds(info.duration),
        "started_at": at(info.started_at),
        "ended_at": at(info.ended_at),
    }


def _stream(info: proto.StreamInfo) -> dict[str, Any]:
    return {
        "url": redact_stream_url(info.url),
        "status": _STREAM_STATUS.get(info.status, "unknown"),
        "error": info.error or None,
        "started_at": at(info.started_at),
        "ended_at": at(info.ended_at),
        "duration_seconds": seconds(info.duration),
    }


def _error_of(info: proto.EgressInfo, status: EgressStatus) -> str | None:
    if info.error:
        return info.error
    if info.status == proto.EgressStatus.EGRESS_ABORTED:
        return "LiveKit aborted the egress"
    if status is EgressStatus.FAILED:
        return "LiveKit reported a failure without a reason"
    return None


def observation_of(
    info: proto.EgressInfo, public_base_url: str | None
) -> Observation[EgressStatus]:
    status = _STATUS.get(info.status, EgressStatus.ACTIVE)
    results = empty_results()
    # Older egress workers report one result in the deprecated singular fields.
    files = list(info.file_results) or ([info.file] if info.HasField("file") else [])
    segments = list(info.segment_results) or ([info.segments] if info.HasField("segments") else [])
    results["files"] = [_file(f, public_base_url) for f in files]
    results["playlists"] = [_playlist(s, public_base_url) for s in segments]
    results["streams"] = [_stream(s) for s in info.stream_results]
    changes: dict[str, Any] = {
        "livekit_status": proto.EgressStatus.Name(info.status),
        "error": _error_of(info, status),
        "error_code": str(info.error_code) if info.error_code else None,
        "details": info.details or None,
        "results": results,
    }
    # Times only ever go from unknown to known: an answer without them keeps them.
    for name, value in (("started_at", at(info.started_at)), ("ended_at", at(info.ended_at))):
        if value is not None:
            changes[name] = value
    return Observation(status=status, updated_ns=int(info.updated_at), changes=changes)
