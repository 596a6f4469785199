"""LiveKit's start-egress requests, built from a recorded egress, and sending them.

The recorded egress says what to record and where (storage keys, redacted URLs);
the secrets the request needs (the bucket's secret key, the RTMP stream keys) come
from the caller's request and the project's sealed storage, and live only in the
request sent to LiveKit.
"""

from __future__ import annotations

from typing import Any

from livekit.api import LiveKitAPI
from livekit.protocol import egress as proto

from pulse.domain.egress import Egress, EgressKind
from pulse.services.egress_outputs import FILE_FORMATS, upload_of

StartRequest = (
    proto.RoomCompositeEgressRequest | proto.TrackCompositeEgressRequest | proto.TrackEgressRequest
)


def _encoded_outputs(
    outputs: dict[str, Any], storage: dict[str, Any] | None, rtmp_urls: tuple[str, ...]
) -> dict[str, Any]:
    """``file_outputs``, ``segment_outputs`` and ``stream_outputs`` of a composite."""
    fields: dict[str, Any] = {}
    file, hls = outputs.get("file"), outputs.get("hls")
    if file and storage:
        fields["file_outputs"] = [
            proto.EncodedFileOutput(
                file_type=FILE_FORMATS[file["format"]],
                filepath=file["filepath"],
                s3=upload_of(storage),
            )
        ]
    if hls and storage:
        fields["segment_outputs"] = [
            proto.SegmentedFileOutput(
                protocol=proto.SegmentedFileProtocol.HLS_PROTOCOL,
                filename_prefix=hls["segment_prefix"],
                playlist_name=hls["playlist"],
                live_playlist_name=hls["live_playlist"],
                segment_duration=int(hls["segment_duration"]),
                s3=upload_of(storage),
            )
        ]
    if rtmp_urls:
        fields["stream_outputs"] = [
            proto.StreamOutput(protocol=proto.StreamProtocol.RTMP, urls=list(rtmp_urls))
        ]
    return fields


def start_request(
    egress: Egress,
    livekit_room: str,
    storage: dict[str, Any] | None,
    rtmp_urls: tuple[str, ...],
) -> StartRequest:
    """The request for LiveKit; ``storage`` with its secret opened."""
    if egress.kind is EgressKind.TRACK:
        file = egress.outputs["file"]
        return proto.TrackEgressRequest(
            room_name=livekit_room,
            track_id=egress.track_id or "",
            file=proto.DirectFileOutput(
                filepath=file["filepath"], s3=upload_of(storage) if storage else None
            ),
        )
    outputs = _encoded_outputs(egress.outputs, storage, rtmp_urls)
    if egress.kind is EgressKind.TRACK_COMPOSITE:
        return proto.TrackCompositeEgressRequest(
            room_name=livekit_room,
            audio_track_id=egress.audio_track_id or "",
            video_track_id=egress.video_track_id or "",
            **outputs,
        )
    return proto.RoomCompositeEgressRequest(
        room_name=livekit_room,
        layout=str(egress.layout or ""),
        audio_only=egress.audio_only,
        **outputs,
    )


async def send_start(api: LiveKitAPI, request: StartRequest) -> proto.EgressInfo:
    if isinstance(request, proto.TrackEgressRequest):
        return await api.egress.start_track_egress(request)
    if isinstance(request, proto.TrackCompositeEgressRequest):
        return await api.egress.start_track_composite_egress(request)
    return await api.egress.start_room_composite_egress(request)
