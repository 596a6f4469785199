"""Where an egress writes: storage keys, redacted stream URLs, the CDN playback URL.

Files and HLS segments go to the project's own bucket (S3 or R2), under
``recordings/<room>/<egress id>/``; Pulse chooses the egress id before asking
LiveKit, so the keys are known (and recorded) up front. ``plan_outputs`` gives the
public description that the aggregate records (no secret in it); ``upload_of``
builds LiveKit's upload config from the project's storage with its secret opened,
used for the LiveKit request only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from livekit.protocol import egress as proto

from pulse.domain.errors import InvalidValueError
from pulse.services.redaction import redact_stream_url
from pulse.services.storage_secrets import SECRET_FIELD

FILE_FORMATS = {"mp4": proto.EncodedFileType.MP4, "ogg": proto.EncodedFileType.OGG}
DEFAULT_SEGMENT_SECONDS = 6


@dataclass(frozen=True)
class FileRequest:
    format: str = "mp4"


@dataclass(frozen=True)
class HlsRequest:
    segment_duration: int = DEFAULT_SEGMENT_SECONDS


@dataclass(frozen=True)
class OutputsRequest:
    """The outputs a caller asked for; ``rtmp_urls`` still hold their stream keys."""

    file: FileRequest | None = None
    hls: HlsRequest | None = None
    rtmp_urls: tuple[str, ...] = field(default=(), repr=False)

    def presence(self) -> dict[str, bool]:
        """Which outputs were asked for, for the domain's checks."""
        return {
            "file": self.file is not None,
            "hls": self.hls is not None,
            "rtmp": bool(self.rtmp_urls),
        }


@dataclass(frozen=True)
class PlannedOutputs:
    public: dict[str, Any]
    """What the aggregate records: storage keys, redacted URLs, no secret."""
    playback_url: str | None


def prefix_of(room: str, egress_id: UUID) -> str:
    return f"recordings/{room}/{egress_id}"


def cdn_url(public_base_url: str | None, key: str | None) -> str | None:
    if not public_base_url or not key:
        return None
    return f"{public_base_url.rstrip('/')}/{key.lstrip('/')}"


def _public_storage(storage: dict[str, Any]) -> dict[str, Any]:
    return {
        "provider": storage.get("provider"),
        "bucket": storage.get("bucket"),
        "public_base_url": storage.get("public_base_url"),
    }


def plan_outputs(
    room: str,
    egress_id: UUID,
    track: bool,
    outputs: OutputsRequest,
    storage: dict[str, Any] | None,
) -> PlannedOutputs:
    """Storage keys and the public description of the requested outputs."""
    if (outputs.file or outputs.hls) and not storage:
        raise InvalidValueError(
            "Recording to files or HLS needs the project's storage (S3 or R2): set it with "
            "PUT /v1/projects/{id}"
        )
    prefix = prefix_of(room, egress_id)
    public: dict[str, Any] = {
        "storage": _public_storage(storage) if storage else None,
        "file": None,
        "hls": None,
        "rtmp": None,
    }
    base = storage.get("public_base_url") if storage else None
    if outputs.file:
        # A track is written as it is (LiveKit adds the extension its codec needs).
        filepath = f"{prefix}/track" if track else f"{prefix}/recording.{outputs.file.format}"
        public["file"] = {
            "filepath": filepath,
            "format": None if track else outputs.file.format,
        }
    playback_url = None
    if outputs.hls:
        playlist = f"{prefix}/playlist.m3u8"
        playback_url = cdn_url(base, playlist)
        public["hls"] = {
            "playlist": playlist,
            "live_playlist": f"{prefix}/live.m3u8",
            "segment_prefix": f"{prefix}/segment",
            "segment_duration": outputs.hls.segment_duration,
            "playback_url": playback_url,
        }
    if outputs.rtmp_urls:
        public["rtmp"] = {"urls": [redact_stream_url(url) for url in outputs.rtmp_urls]}
    return PlannedOutputs(public=public, playback_url=playback_url)


def upload_of(storage: dict[str, Any]) -> proto.S3Upload:
    """LiveKit's S3 upload config (R2 speaks S3) from storage whose secret is opened."""
    endpoint = str(storage.get("endpoint") or "")
    region = storage.get("region") or ("auto" if storage.get("provider") == "r2" else "")
    return proto.S3Upload(
        access_key=str(storage.get("access_key_id") or ""),
        secret=str(storage.get(SECRET_FIELD) or ""),
        region=str(region),
        endpoint=endpoint.rstrip("/"),
        bucket=str(storage["bucket"]),
        # Custom endpoints (R2, MinIO) do not all serve virtual-hosted buckets.
        force_path_style=bool(endpoint),
    )
