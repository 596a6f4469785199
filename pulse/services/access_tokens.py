"""Access tokens: short-lived HS256 JWTs naming a user and the session they belong to.

A JWT is checked without any lookup, so it cannot be recalled once issued. Ending a
session therefore also lists its id in Redis (``<prefix>revoked-session:<sid>``) for
as long as any token of it can still be valid; the API refuses tokens whose session
is listed, so a logout takes effect on the very next request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
from redis.asyncio import Redis

from pulse.config import Settings
from pulse.services.clock import utc_now
from pulse.services.errors import AuthenticationError

ALGORITHM = "HS256"
ISSUER = "pulse"
AUDIENCE = "pulse-api"
TOKEN_TYPE = "access"  # noqa: S105 - the "typ" claim, not a secret
REQUIRED_CLAIMS = ("sub", "sid", "iat", "nbf", "exp", "iss", "aud", "typ", "jti")

# API processes on different hosts issue and check each other's tokens; a token
# issued by a host whose clock runs slightly ahead must not be "not yet valid" here.
# Expiry gets no such allowance: a token never lives longer than its TTL.
CLOCK_SKEW_SECONDS = 5

INVALID_TOKEN = "Invalid or expired access token"  # noqa: S105 - a message, not a secret


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: UUID
    session_id: UUID
    token_id: str
    expires_at: datetime


def issue_access_token(
    settings: Settings, user_id: UUID, session_id: UUID, now: datetime | None = None
) -> AccessToken:
    issued_at = int((now or utc_now()).timestamp())
    expires_at = issued_at + settings.access_token_ttl_seconds
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": expires_at,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "typ": TOKEN_TYPE,
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)
    return AccessToken(token=token, expires_at=datetime.fromtimestamp(expires_at, tz=UTC))


def verify_access_token(
    settings: Settings, token: str, now: datetime | None = None
) -> AccessClaims:
    """The token's claims if it is a valid, current access token; else AuthenticationError.

    Only HS256 is accepted (so neither ``alg: none`` nor a public-key algorithm fed
    our secret as a "public key"), and every claim must be present and right.
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={
                "require": list(REQUIRED_CLAIMS),
                "strict_aud": True,
                # Times are checked below against our clock, which tests can set.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
        return _checked(claims, int((now or utc_now()).timestamp()))
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
        raise AuthenticationError(INVALID_TOKEN) from None


def _checked(claims: dict[str, Any], now: int) -> AccessClaims:
    times = {name: claims[name] for name in ("iat", "nbf", "exp")}
    # bool is an int subclass; a float would be a token we did not make.
    if any(type(value) is not int for value in times.values()):
        raise ValueError("time claims must be integers")
    if claims["typ"] != TOKEN_TYPE:
        raise ValueError("not an access token")
    if times["nbf"] > now + CLOCK_SKEW_SECONDS or times["iat"] > now + CLOCK_SKEW_SECONDS:
        raise ValueError("not yet valid")
    if times["exp"] <= now:
        raise ValueError("expired")
    if not isinstance(claims["sub"], str) or not isinstance(claims["sid"], str):
        raise TypeError("sub and sid must be strings")
    return AccessClaims(
        user_id=UUID(claims["sub"]),
        session_id=UUID(claims["sid"]),
        token_id=str(claims["jti"]),
        expires_at=datetime.fromtimestamp(times["exp"], tz=UTC),
    )


# -- Revocation ------------------------------------------------------------------------


def revoked_session_key(settings: Settings, session_id: UUID) -> str:
    return f"{settings.redis_key_prefix}revoked-session:{session_id}"


def revocation_ttl(settings: Settings) -> timedelta:
    """How long a session stays listed: the longest any of its tokens can still pass."""
    return timedelta(seconds=settings.access_token_ttl_seconds + CLOCK_SKEW_SECONDS)


async def revoke_session_tokens(redis: Redis, settings: Settings, session_id: UUID) -> None:
    """Refuse every access token of ``session_id`` from now on."""
    await redis.set(revoked_session_key(settings, session_id), "1", ex=revocation_ttl(settings))


async def is_session_revoked(redis: Redis, settings: Settings, session_id: UUID) -> bool:
    return bool(await redis.exists(revoked_session_key(settings, session_id)))
