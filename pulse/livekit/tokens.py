"""LiveKit access tokens: minted for one project's room only, verified the same way.

The grants a caller may ask for are the ones that stay inside the room the token
names. Cluster-wide grants (list or create rooms, record, ingress admin) are never
given: on a shared LiveKit they would reach other projects' rooms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt as pyjwt
from livekit.api import AccessToken, TokenVerifier, VideoGrants

from pulse.livekit.regions import Region


@dataclass(frozen=True)
class RoomGrants:
    can_publish: bool = True
    can_subscribe: bool = True
    can_publish_data: bool = True
    can_update_own_metadata: bool = False
    hidden: bool = False
    room_admin: bool = False
    """Moderate this one room (the token names it; LiveKit scopes admin to it)."""


@dataclass(frozen=True)
class TokenRequest:
    livekit_room: str
    identity: str
    name: str | None
    metadata: str | None
    attributes: dict[str, str]
    grants: RoomGrants
    ttl: timedelta


@dataclass(frozen=True)
class MintedToken:
    jwt: str
    expires_at: datetime


def mint(region: Region, request: TokenRequest, now: datetime) -> MintedToken:
    endpoint = region.endpoint
    token = (
        AccessToken(endpoint.api_key, endpoint.api_secret.get_secret_value())
        .with_identity(request.identity)
        .with_ttl(request.ttl)
        .with_grants(
            VideoGrants(
                room_join=True,
                room=request.livekit_room,
                can_publish=request.grants.can_publish,
                can_subscribe=request.grants.can_subscribe,
                can_publish_data=request.grants.can_publish_data,
                can_update_own_metadata=request.grants.can_update_own_metadata,
                hidden=request.grants.hidden,
                room_admin=request.grants.room_admin,
            )
        )
    )
    if request.name is not None:
        token = token.with_name(request.name)
    if request.metadata is not None:
        token = token.with_metadata(request.metadata)
    if request.attributes:
        token = token.with_attributes(request.attributes)
    return MintedToken(jwt=token.to_jwt(), expires_at=now + request.ttl)


@dataclass(frozen=True)
class VerifiedToken:
    identity: str
    livekit_room: str | None
    expires_at: datetime | None
    grants: dict[str, Any]
    name: str | None
    metadata: str | None


def verify(region: Region, token: str) -> VerifiedToken:
    """The token's claims if the region's credentials signed it; raises if not."""
    endpoint = region.endpoint
    verifier = TokenVerifier(endpoint.api_key, endpoint.api_secret.get_secret_value())
    claims = verifier.verify(token)
    # The library checked signature and expiry but does not return ``exp``.
    expiry = pyjwt.decode(token, options={"verify_signature": False}).get("exp")
    video = claims.video
    return VerifiedToken(
        identity=claims.identity,
        livekit_room=video.room if video else None,
        expires_at=datetime.fromtimestamp(expiry, UTC) if expiry else None,
        grants={
            field: getattr(video, field)
            for field in (
                "room_join",
                "can_publish",
                "can_subscribe",
                "can_publish_data",
                "hidden",
                "room_admin",
            )
        }
        if video
        else {},
        name=claims.name or None,
        metadata=claims.metadata or None,
    )
