"""Secrets Pulse hands out (API keys, refresh tokens, invitation tokens) and their digests.

Secrets carry 256 bits from ``secrets.token_urlsafe`` and are shown once. Only a keyed
digest (HMAC-SHA-256 with a server-side pepper) is stored: the secrets are random
and long, so a slow password hash would add nothing but cost on every check, while
the pepper keeps a leaked database from being enough to test guesses offline.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from uuid import UUID

from pulse.config import Settings

SECRET_BYTES = 32
# Prefixes make a leaked token recognisable (and scannable); they are not secrets.
API_SECRET_PREFIX = "sk_"  # noqa: S105
REFRESH_TOKEN_PREFIX = "rt_"  # noqa: S105
INVITATION_TOKEN_PREFIX = "inv_"  # noqa: S105


@dataclass(frozen=True)
class IssuedSecret:
    """What the caller sees once (``token``) and what Pulse stores (``digest``)."""

    token: str
    digest: str


class Digester:
    def __init__(self, pepper: bytes) -> None:
        if len(pepper) < 16:
            raise ValueError("The pepper must be at least 16 bytes")
        self._pepper = pepper

    def digest(self, secret: str) -> str:
        return hmac.new(self._pepper, secret.encode(), hashlib.sha256).hexdigest()

    def new_api_secret(self) -> IssuedSecret:
        """A project key's secret; its digest is also how the key is looked up."""
        token = API_SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
        return IssuedSecret(token=token, digest=self.digest(token))

    def new_owned_secret(self) -> IssuedSecret:
        """A secret that one aggregate (a session, an invitation) will hold the digest of.

        The caller gets the token with ``owned_token`` once the aggregate exists.
        """
        secret = secrets.token_urlsafe(SECRET_BYTES)
        return IssuedSecret(token=secret, digest=self.digest(secret))


def owned_token(prefix: str, owner: UUID, secret: IssuedSecret) -> str:
    """``<prefix><owner hex>.<secret>``: the owner part only locates the aggregate; the
    secret part is what is checked, in constant time, against the stored digest."""
    return f"{prefix}{owner.hex}.{secret.token}"


def digester_of(settings: Settings) -> Digester:
    return Digester(settings.credential_pepper.get_secret_value().encode())


def new_key_id() -> str:
    """Public identifier of a project key: not secret, shown in lists and logs."""
    return f"pk_{secrets.token_hex(12)}"


def parse_owned_token(prefix: str, token: str) -> tuple[UUID, str] | None:
    """The owner id and secret of a token made by ``owned_token``, if well formed."""
    if not token.startswith(prefix):
        return None
    owner, dot, secret = token[len(prefix) :].partition(".")
    if not dot or not secret:
        return None
    try:
        return UUID(hex=owner), secret
    except ValueError:
        return None
