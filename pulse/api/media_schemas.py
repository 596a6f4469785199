"""Bodies and resources of the egress and ingress routes (authenticated by a project key)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, Field, field_validator

from pulse.api.management_schemas import Input
from pulse.api.rooms_schemas import Identity, RoomName
from pulse.domain.egress import EgressKind, Layout
from pulse.domain.ingress import IngressKind
from pulse.services.egress import EgressSpec
from pulse.services.egress_outputs import FileRequest, HlsRequest, OutputsRequest
from pulse.services.ingress import IngressSpec

TrackId = Field(default=None, min_length=1, max_length=64, description="A track's sid (TR_...).")
RoomFilter = Annotated[str | None, Query(max_length=100, description="Only this room's.")]
EgressKindName = Literal["room_composite", "track_composite", "track"]
IngressKindName = Literal["rtmp", "whip", "url"]
EgressStatusName = Literal["requested", "active", "ending", "complete", "failed"]
IngressStatusName = Literal[
    "requested", "inactive", "buffering", "publishing", "error", "complete", "failed"
]

_STREAM_SCHEMES = ("rtmp://", "rtmps://")
_SOURCE_SCHEMES = ("http://", "https://", "rtmp://", "rtmps://", "srt://")


class FileIn(Input):
    format: Literal["mp4", "ogg"] = Field(default="mp4", description="Container of the file.")


class HlsIn(Input):
    segment_duration: int = Field(default=6, ge=1, le=60, description="Seconds per segment.")


class RtmpIn(Input):
    urls: list[str] = Field(
        min_length=1,
        max_length=5,
        description="rtmp:// or rtmps:// destinations with their stream keys; "
        "used for this request only, recorded redacted.",
    )

    @field_validator("urls")
    @classmethod
    def _stream_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(_STREAM_SCHEMES) or len(url) > 1_024 or len(url) < 10:
                raise ValueError("each url must be an rtmp:// or rtmps:// URL")
        return urls


class OutputsIn(Input):
    file: FileIn | None = Field(default=None, description="One file (MP4) in the bucket.")
    hls: HlsIn | None = Field(default=None, description="HLS segments and playlist in the bucket.")
    rtmp: RtmpIn | None = Field(default=None, description="Live streams to RTMP servers.")

    def as_request(self) -> OutputsRequest:
        return OutputsRequest(
            file=FileRequest(format=self.file.format) if self.file else None,
            hls=HlsRequest(segment_duration=self.hls.segment_duration) if self.hls else None,
            rtmp_urls=tuple(self.rtmp.urls) if self.rtmp else (),
        )


class EgressStart(Input):
    room: str = RoomName
    kind: EgressKindName = Field(
        default="room_composite",
        description="The whole room (composited), some tracks composited, or one track as is.",
    )
    layout: Literal["speaker", "grid", "single", "single-speaker"] | None = Field(
        default=None, description="Room composites only; default speaker."
    )
    audio_only: bool = False
    audio_track_id: str | None = TrackId
    video_track_id: str | None = TrackId
    track_id: str | None = TrackId
    outputs: OutputsIn

    def as_spec(self) -> EgressSpec:
        layout = None
        if self.layout is not None:
            layout = Layout.SINGLE_SPEAKER if self.layout == "single" else Layout(self.layout)
        return EgressSpec(
            room=self.room,
            kind=EgressKind(self.kind),
            outputs=self.outputs.as_request(),
            layout=layout,
            audio_only=self.audio_only,
            audio_track_id=self.audio_track_id,
            video_track_id=self.video_track_id,
            track_id=self.track_id,
        )


class EgressStop(Input):
    egress_id: str = Field(
        min_length=1, max_length=64, description="Pulse's id of the egress, or LiveKit's EG_..."
    )


class EgressOut(BaseModel):
    id: str
    project_id: str
    room: str
    kind: str
    layout: str | None
    audio_only: bool
    audio_track_id: str | None
    video_track_id: str | None
    track_id: str | None
    region: str
    status: str = Field(description="requested, active, ending, complete or failed.")
    livekit_egress_id: str | None
    livekit_status: str | None
    outputs: dict[str, Any] = Field(description="Storage keys and redacted stream URLs.")
    playback_url: str | None = Field(description="CDN URL of the HLS playlist, if any.")
    recording_available: bool
    results: dict[str, Any] = Field(description="Files, playlists and streams LiveKit reported.")
    error: str | None
    error_code: str | None
    details: str | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    updated_at: datetime


class IngressCreate(Input):
    room: str = RoomName
    kind: IngressKindName = Field(
        description="rtmp and whip: you push to the returned url; url: LiveKit pulls `url`."
    )
    name: str | None = Field(default=None, min_length=1, max_length=128)
    participant_identity: str = Identity
    participant_name: str | None = Field(default=None, max_length=128)
    url: str | None = Field(
        default=None,
        max_length=2_048,
        description="The source to pull (kind url): http(s), rtmp(s) or srt.",
    )
    enable_transcoding: bool | None = None

    @field_validator("url")
    @classmethod
    def _source_url(cls, url: str | None) -> str | None:
        if url is not None and (not url.startswith(_SOURCE_SCHEMES) or url[-3:] == "://"):
            raise ValueError("url must be an http(s), rtmp(s) or srt URL")
        return url

    def as_spec(self) -> IngressSpec:
        return IngressSpec(
            room=self.room,
            kind=IngressKind(self.kind),
            name=self.name or self.participant_identity,
            participant_identity=self.participant_identity,
            participant_name=self.participant_name,
            source_url=self.url,
            enable_transcoding=self.enable_transcoding,
        )


class IngressOut(BaseModel):
    id: str
    project_id: str
    room: str
    kind: str
    name: str
    participant_identity: str
    participant_name: str | None
    source_url: str | None = Field(description="Without user info, query or fragment.")
    enable_transcoding: bool | None
    region: str
    status: str = Field(
        description="requested, inactive, buffering, publishing, error, complete or failed."
    )
    livekit_ingress_id: str | None
    livekit_status: str | None
    url: str | None = Field(description="Where to push (rtmp, whip).")
    reusable: bool
    error: str | None
    error_code: str | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    updated_at: datetime


class IngressCreated(IngressOut):
    stream_key: str | None = Field(
        description="The secret to publish with; shown in this answer only, never stored."
    )
