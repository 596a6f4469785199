"""Authenticating a request by project API key, with a Redis cache in front of the store.

A key is presented as ``X-Pulse-Key: sk_...`` or as HTTP Basic ``pk_...:sk_...``. Its
keyed digest (``Digester``) finds it: first in the cache (``<prefix>apikey:<digest>``),
else through the ``rm_api_keys`` read model, which only says which project to load.
The ``Project`` aggregate, loaded from the event store, decides; its answer is cached
for ``api_key_cache_seconds``.

Freshness. Each cache entry carries the project's version, and an entry is written
only if no entry of a newer version is there (atomically, in Lua), so a request that
read the project just before a revocation cannot overwrite the revocation's entry with
its stale answer. Key-management commands call ``forget_cached_keys`` before they
save and ``cache_project_keys`` (or ``cache_key_state``) after, which is what makes a
revoked key fail on the very next request rather than when the entry expires.

Timing. The secret is compared only as a digest made with a server-side pepper, so
lookups by digest (in Redis or MongoDB) leak nothing an attacker could use; the
digest the aggregate holds is still compared in constant time, as is the key id of a
Basic credential.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import anyio.to_thread
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis

from pulse.config import Settings
from pulse.domain.organization import Organization
from pulse.domain.project import ApiKey, Project
from pulse.logging import get_logger
from pulse.projections.collections import API_KEYS
from pulse.services.clock import utc_now
from pulse.services.credentials import API_SECRET_PREFIX, Digester
from pulse.services.errors import AuthenticationError, NotFoundError

log = get_logger(__name__)

API_KEY_HEADER = "X-Pulse-Key"
KEY_ID_PREFIX = "pk_"
INVALID_KEY = "Invalid, expired or revoked API key"
# Our secrets are ``sk_`` plus 43 characters; a much longer value is not one of ours
# and is refused before any work is spent on it.
MAX_SECRET_LENGTH = 128
MAX_KEY_ID_LENGTH = 64

# KEYS[1]: the entry. ARGV: the new entry (JSON), its version, its TTL in seconds.
# Writes unless the entry there is of a newer version; returns 1 if it wrote.
_CACHE_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, entry = pcall(cjson.decode, current)
  if ok and type(entry) == 'table' then
    local version = tonumber(entry['version'])
    if version and version > tonumber(ARGV[2]) then
      return 0
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""

# KEYS[1]: the entry. ARGV[1]: the prefix of organization tombstones.
# Returns {entry, 1} when the entry's organization was deleted, {entry, 0} otherwise.
_READ_UNLESS_ORGANIZATION_GONE = """
local entry = redis.call('GET', KEYS[1])
if not entry then
  return false
end
local ok, state = pcall(cjson.decode, entry)
if ok and type(state) == 'table' and state['organization_id'] then
  if redis.call('EXISTS', ARGV[1] .. state['organization_id']) == 1 then
    return {entry, 1}
  end
end
return {entry, 0}
"""

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PresentedKey:
    """A key as the request presents it; ``key_id`` only with HTTP Basic."""

    secret: str = field(repr=False)
    key_id: str | None = None

    def scope(self) -> str:
        """A stable, non-secret name for the credential (SHA-256 of the secret)."""
        return hashlib.sha256(self.secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyState:
    """What the cache keeps about a key: enough to decide without the event store."""

    project_id: UUID
    organization_id: UUID
    key_id: str
    expires_at: datetime | None
    revoked: bool  # The key was revoked or its project deleted.
    version: int  # The project's version this was read at.
    region: str | None = None  # The project's region: tokens need it on the hot path.

    @classmethod
    def of(cls, project: Project, key: ApiKey, *, organization_deleted: bool = False) -> KeyState:
        return cls(
            project_id=project.id,
            organization_id=project.organization_id,
            key_id=key.key_id,
            expires_at=key.expires_at,
            revoked=key.revoked_at is not None or project.is_deleted or organization_deleted,
            version=project.version,
            region=project.region,
        )

    def accepts_at(self, now: datetime) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)

    def to_json(self) -> str:
        return json.dumps(
            {
                "project_id": str(self.project_id),
                "organization_id": str(self.organization_id),
                "key_id": self.key_id,
                "expires_at": self.expires_at.isoformat() if self.expires_at else None,
                "revoked": self.revoked,
                "version": self.version,
                "region": self.region,
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> KeyState:
        data = json.loads(raw)
        expires_at = data["expires_at"]
        return cls(
            project_id=UUID(data["project_id"]),
            organization_id=UUID(data["organization_id"]),
            key_id=str(data["key_id"]),
            expires_at=datetime.fromisoformat(expires_at) if expires_at else None,
            revoked=bool(data["revoked"]),
            version=int(data["version"]),
            region=data.get("region"),
        )


# -- Reading the credential ------------------------------------------------------------


def read_presented_key(x_pulse_key: str | None, authorization: str | None) -> PresentedKey | None:
    """The key in ``X-Pulse-Key`` or in HTTP Basic credentials, None if neither holds one.

    AuthenticationError if a key is there but malformed, so that a typo is told apart
    from a missing credential.
    """
    if x_pulse_key is not None:
        return PresentedKey(secret=_checked_secret(x_pulse_key.strip()))
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationError(INVALID_KEY) from None
    key_id, colon, secret = decoded.partition(":")
    if not colon or not key_id.startswith(KEY_ID_PREFIX) or len(key_id) > MAX_KEY_ID_LENGTH:
        raise AuthenticationError(INVALID_KEY)
    return PresentedKey(secret=_checked_secret(secret), key_id=key_id)


def _checked_secret(secret: str) -> str:
    if not secret.startswith(API_SECRET_PREFIX) or len(secret) > MAX_SECRET_LENGTH:
        raise AuthenticationError(INVALID_KEY)
    return secret


# -- The cache -------------------------------------------------------------------------


def cache_key(key_prefix: str, digest: str) -> str:
    return f"{key_prefix}apikey:{digest}"


def organization_tombstone_prefix(key_prefix: str) -> str:
    return f"{key_prefix}organization-deleted:"


async def cached_key_state(redis: Redis, digest: str, *, key_prefix: str) -> KeyState | None:
    """The cached state; a key of an organization deleted since comes back revoked.

    Deleting an organization leaves a short-lived tombstone instead of finding and
    forgetting each key of each of its projects: checked in the same round trip as
    the entry, it refuses those keys from the next request on, and outlives the
    longest-lived entry cached before the deletion.
    """
    script = redis.register_script(_READ_UNLESS_ORGANIZATION_GONE)
    found = await script(
        keys=[cache_key(key_prefix, digest)], args=[organization_tombstone_prefix(key_prefix)]
    )
    if not found:
        return None
    raw, organization_gone = found
    try:
        state = KeyState.from_json(raw)
    except (ValueError, KeyError, TypeError):
        return None  # Written by another version of Pulse: read the store instead.
    return replace(state, revoked=True) if organization_gone else state


async def bury_organization(
    redis: Redis, organization_id: UUID, *, key_prefix: str, ttl_seconds: int
) -> None:
    """After an organization's deletion: refuse its keys, even those cached as working."""
    # A little longer than any entry cached before the deletion can live.
    name = organization_tombstone_prefix(key_prefix) + str(organization_id)
    await redis.set(name, "1", ex=ttl_seconds + 5)


async def cache_key_state(
    redis: Redis, digest: str, state: KeyState, *, key_prefix: str, ttl_seconds: int
) -> bool:
    """Cache ``state`` unless a newer one is cached; True if it was written."""
    # A registered script runs by its SHA (EVALSHA), sending the source only once.
    script = redis.register_script(_CACHE_IF_NEWER)
    written = await script(
        keys=[cache_key(key_prefix, digest)], args=[state.to_json(), state.version, ttl_seconds]
    )
    return bool(written)


async def forget_cached_keys(redis: Redis, digests: Iterable[str], *, key_prefix: str) -> None:
    """Drop cached answers for these keys (before a revocation or rotation is saved)."""
    names = [cache_key(key_prefix, digest) for digest in digests]
    if names:
        await redis.delete(*names)


async def cache_project_keys(
    redis: Redis, settings: Settings, project: Project, key_ids: Iterable[str] | None = None
) -> None:
    """Cache the current state of the project's keys (all, or ``key_ids``), after a save.

    For key-management commands: with the new state cached at the new version, the
    next request sees the change, and no request still holding the old state can
    overwrite it.
    """
    wanted = project.keys.keys() if key_ids is None else key_ids
    for key_id in wanted:
        key = project.keys[key_id]
        await cache_key_state(
            redis,
            key.digest,
            KeyState.of(project, key),
            key_prefix=settings.redis_key_prefix,
            ttl_seconds=settings.api_key_cache_seconds,
        )


# -- Authentication --------------------------------------------------------------------


ProjectLoader = Callable[[UUID], Project]
OrganizationLoader = Callable[[UUID], Organization]


@dataclass(frozen=True, slots=True)
class ApiKeyAuthenticator:
    """Everything a key check needs; ``load_project`` is the sync event-store read."""

    redis: Redis
    database: AsyncDatabase[Document]
    load_project: ProjectLoader
    load_organization: OrganizationLoader
    digester: Digester
    settings: Settings

    async def authenticate(self, presented: PresentedKey, now: datetime | None = None) -> KeyState:
        """The key's state if it may be used now; AuthenticationError otherwise."""
        digest = self.digester.digest(presented.secret)
        prefix = self.settings.redis_key_prefix
        state = await cached_key_state(self.redis, digest, key_prefix=prefix)
        if state is None:
            state = await self._from_store(digest)
            if state is None:
                log.info("api_key_refused", reason="unknown")
                raise AuthenticationError(INVALID_KEY)
            await cache_key_state(
                self.redis,
                digest,
                state,
                key_prefix=prefix,
                ttl_seconds=self.settings.api_key_cache_seconds,
            )
        if not _same_key_id(presented, state):
            log.info("api_key_refused", reason="key_id_mismatch", key_id=state.key_id)
            raise AuthenticationError(INVALID_KEY)
        if not state.accepts_at(now or utc_now()):
            log.info("api_key_refused", reason="not_active", key_id=state.key_id)
            raise AuthenticationError(INVALID_KEY)
        return state

    async def cached_project(self, presented: PresentedKey) -> UUID | None:
        """The project of a key the cache already accepts; no store access (rate limits)."""
        digest = self.digester.digest(presented.secret)
        state = await cached_key_state(
            self.redis, digest, key_prefix=self.settings.redis_key_prefix
        )
        if state is None or not state.accepts_at(utc_now()):
            return None
        if not _same_key_id(presented, state):
            return None
        return state.project_id

    async def _from_store(self, digest: str) -> KeyState | None:
        row = await self.database[API_KEYS].find_one(
            {"digest": digest}, projection={"_id": 1, "project_id": 1}
        )
        if row is None:
            return None
        project_id = _as_uuid(row.get("project_id"))
        if project_id is None:
            return None
        try:
            project = await anyio.to_thread.run_sync(self.load_project, project_id)
        except NotFoundError:
            return None
        # The read model only pointed the way; the aggregates are the source of truth.
        key = project.keys.get(str(row["_id"]))
        if key is None or not hmac.compare_digest(key.digest.encode(), digest.encode()):
            return None
        try:
            organization = await anyio.to_thread.run_sync(
                self.load_organization, project.organization_id
            )
        except NotFoundError:
            return None
        return KeyState.of(project, key, organization_deleted=organization.is_deleted)


def _same_key_id(presented: PresentedKey, state: KeyState) -> bool:
    """A Basic credential's key id matches the key (in constant time); a bare secret has none."""
    return presented.key_id is None or hmac.compare_digest(
        presented.key_id.encode(), state.key_id.encode()
    )


def _as_uuid(value: object) -> UUID | None:
    # The projection may store ids as BSON UUIDs or as strings; accept both.
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            return None
    return None
