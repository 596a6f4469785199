"""Minting and validating LiveKit tokens for a project key's project.

The token names the project's namespaced room, is signed with the credentials of the
region serving the project (its own, or its backup while it is down), and is refused
to an identity banned from that room.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import jwt as pyjwt

from pulse.clients import Clients
from pulse.config import Settings
from pulse.domain.errors import InvalidValueError, NotPermittedError
from pulse.domain.project import Project
from pulse.livekit.naming import split_livekit_room
from pulse.livekit.selection import Serving, serving_region
from pulse.livekit.tokens import MintedToken, TokenRequest, VerifiedToken, mint, verify
from pulse.services.application import PulseApplication
from pulse.services.clock import utc_now
from pulse.services.moderation import banned_until
from pulse.services.token_usage import count_minted_token
from pulse.services.usage_gate import ensure_tokens_allowed


@dataclass(frozen=True)
class IssuedToken:
    token: MintedToken
    serving: Serving
    room: str
    livekit_room: str


async def project_region(app: PulseApplication, project_id: UUID, known: str | None) -> str:
    if known is not None:
        return known
    project = await asyncio.to_thread(app.load, project_id, Project)
    return project.region


async def issue_token(
    app: PulseApplication,
    clients: Clients,
    settings: Settings,
    project_id: UUID,
    region: str,
    room: str,
    request: TokenRequest,
    *,
    organization_id: UUID,
) -> IssuedToken:
    """Mint a token for ``room`` of the project; refused to a banned identity, and to a
    Free project over its participant minutes (``UsageLimitReachedError``)."""
    if request.ttl > timedelta(seconds=settings.token_max_ttl_seconds):
        msg = f"ttl_seconds may be at most {settings.token_max_ttl_seconds}"
        raise InvalidValueError(msg)
    await ensure_tokens_allowed(
        clients.database,
        clients.redis,
        settings.redis_key_prefix,
        settings.usage_gate_cache_seconds,
        project_id,
        organization_id,
        utc_now(),
    )
    until = await asyncio.to_thread(banned_until, app, project_id, room, request.identity)
    if until is not None:
        msg = f"'{request.identity}' is banned from room '{room}' until {until.isoformat()}"
        raise NotPermittedError(msg)
    serving = await serving_region(
        clients.livekit, clients.redis, settings.redis_key_prefix, region
    )
    minted = mint(serving.region, request, utc_now())
    await count_minted_token(clients.redis, settings.redis_key_prefix, project_id)
    return IssuedToken(minted, serving, room, request.livekit_room)


@dataclass(frozen=True)
class Validation:
    valid: bool
    reason: str | None = None
    room: str | None = None
    claims: VerifiedToken | None = None


def validate_token(clients: Clients, project_id: UUID, region: str, token: str) -> Validation:
    """Whether ``token`` is a live LiveKit token for one of this project's rooms.

    It may have been signed by the project's region or by its backup (after a
    failover), so both are tried.
    """
    primary = clients.livekit.region(region)
    for candidate in (primary, clients.livekit.region(primary.info.backup)):
        try:
            claims = verify(candidate, token)
        except pyjwt.ExpiredSignatureError:
            return Validation(False, "expired")
        except (pyjwt.InvalidTokenError, ValueError):
            continue
        owner = split_livekit_room(claims.livekit_room or "")
        if owner is None or owner[0] != project_id:
            return Validation(False, "not a token for a room of this project")
        return Validation(True, room=owner[1], claims=claims)
    return Validation(False, "not signed by this project's LiveKit credentials")
