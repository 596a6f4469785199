"""Bodies of the token and room routes (authenticated by a project key)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from livekit import api as lk
from pydantic import BaseModel, Field

from pulse.api.management_schemas import Input
from pulse.livekit.naming import ROOM_NAME
from pulse.livekit.tokens import RoomGrants

RoomName = Field(
    pattern=ROOM_NAME.pattern,
    description="1 to 100 letters, digits or _.:=-, starting with a letter or digit; "
    "rooms are private to the project (the same name in another project is another room).",
)
Identity = Field(min_length=1, max_length=128, description="The participant's identity.")


class GrantsIn(Input):
    can_publish: bool = True
    can_subscribe: bool = True
    can_publish_data: bool = True
    can_update_own_metadata: bool = False
    hidden: bool = Field(default=False, description="Invisible to other participants.")
    room_admin: bool = Field(
        default=False, description="May moderate this room (and only this room)."
    )

    def as_grants(self) -> RoomGrants:
        return RoomGrants(**self.model_dump())


class TokenCreate(Input):
    room: str = RoomName
    identity: str = Identity
    name: str | None = Field(default=None, max_length=128)
    metadata: str | None = Field(default=None, max_length=16_384)
    attributes: dict[str, str] = Field(default_factory=dict, max_length=32)
    grants: GrantsIn = Field(default_factory=GrantsIn)
    ttl_seconds: int | None = Field(
        default=None, ge=60, description="Lifetime; default 4 h, at most the configured maximum."
    )


class TokenIssued(BaseModel):
    token: str = Field(description="A LiveKit access token (JWT) for the room.")
    url: str = Field(description="The LiveKit URL of the region serving the project.")
    room: str
    livekit_room: str = Field(description="The room's name on LiveKit (namespaced).")
    identity: str
    region: str
    failed_over_from: str | None = Field(
        description="Set when the project's own region is down and its backup serves."
    )
    expires_at: datetime


class TokenValidate(Input):
    token: str = Field(min_length=10, max_length=8_192)


class TokenValidation(BaseModel):
    valid: bool
    reason: str | None = None
    room: str | None = None
    identity: str | None = None
    expires_at: datetime | None = None
    grants: dict[str, Any] | None = None


class RoomCreate(Input):
    name: str = RoomName
    empty_timeout: int = Field(
        default=300, ge=0, le=86_400, description="Seconds an empty room stays open."
    )
    max_participants: int = Field(default=0, ge=0, le=10_000, description="0: no limit.")
    metadata: str = Field(default="", max_length=16_384)


class RoomOut(BaseModel):
    name: str
    sid: str
    num_participants: int
    max_participants: int
    empty_timeout: int
    metadata: str
    created_at: datetime | None
    active_recording: bool

    @classmethod
    def of(cls, name: str, room: lk.Room) -> RoomOut:
        return cls(
            name=name,
            sid=room.sid,
            num_participants=room.num_participants,
            max_participants=room.max_participants,
            empty_timeout=room.empty_timeout,
            metadata=room.metadata,
            created_at=datetime.fromtimestamp(room.creation_time, UTC)
            if room.creation_time
            else None,
            active_recording=room.active_recording,
        )


class TrackOut(BaseModel):
    sid: str
    name: str
    kind: str
    source: str
    muted: bool

    @classmethod
    def of(cls, track: lk.TrackInfo) -> TrackOut:
        return cls(
            sid=track.sid,
            name=track.name,
            kind=lk.TrackType.Name(track.type).lower(),
            source=lk.TrackSource.Name(track.source).lower(),
            muted=track.muted,
        )


class ParticipantOut(BaseModel):
    identity: str
    name: str
    sid: str
    state: str
    joined_at: datetime | None
    metadata: str
    tracks: list[TrackOut]

    @classmethod
    def of(cls, participant: lk.ParticipantInfo) -> ParticipantOut:
        return cls(
            identity=participant.identity,
            name=participant.name,
            sid=participant.sid,
            state=lk.ParticipantInfo.State.Name(participant.state).lower(),
            joined_at=datetime.fromtimestamp(participant.joined_at, UTC)
            if participant.joined_at
            else None,
            metadata=participant.metadata,
            tracks=[TrackOut.of(track) for track in participant.tracks],
        )


class MuteTrack(Input):
    track_sid: str = Field(min_length=1, max_length=64)
    muted: bool = True


class BanCreate(Input):
    identity: str = Identity
    duration_seconds: int = Field(ge=60, le=30 * 86_400, description="How long the ban lasts.")
    reason: str = Field(default="", max_length=500)


class BanOut(BaseModel):
    room: str
    identity: str
    until: datetime
