"""Project: an application of an organization, with its region, settings and API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.errors import DeletedError, InvalidValueError, InvariantError
from pulse.domain.regions import REGIONS

MAX_ACTIVE_KEYS = 10


class KeyStatus(StrEnum):
    ACTIVE = "active"
    EXPIRING = "expiring"  # Rotated away, still valid during its grace period.
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass
class ApiKey:
    """A project key as the aggregate knows it: only a keyed digest of its secret."""

    key_id: str
    name: str
    digest: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def status(self, now: datetime) -> KeyStatus:
        if self.revoked_at is not None:
            return KeyStatus.REVOKED
        if self.expires_at is None:
            return KeyStatus.ACTIVE
        return KeyStatus.EXPIRING if now < self.expires_at else KeyStatus.EXPIRED

    def accepts_at(self, now: datetime) -> bool:
        return self.status(now) in (KeyStatus.ACTIVE, KeyStatus.EXPIRING)


def _earlier(current: datetime | None, proposed: datetime) -> datetime:
    """A rotation may shorten a key's remaining life, never extend it."""
    return proposed if current is None else min(current, proposed)


def _check_region(region: str) -> str:
    if region not in REGIONS:
        raise InvalidValueError(f"Unknown region '{region}'; known regions: {', '.join(REGIONS)}")
    return region


class Project(Aggregate):
    @event("Created")
    def __init__(
        self,
        organization_id: UUID,
        name: str,
        region: str,
        webhook_url: str | None,
        storage: dict[str, Any] | None,
        context: CommandContext,
    ) -> None:
        self.organization_id = organization_id
        self.name = name
        self.region = _check_region(region)
        self.webhook_url = webhook_url
        self.storage = storage
        self.keys: dict[str, ApiKey] = {}
        self.deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def ensure_active(self) -> None:
        if self.is_deleted:
            raise DeletedError("The project was deleted")

    def update(self, changes: dict[str, Any], context: CommandContext) -> None:
        """Apply the given changes; a key present with None clears an optional field."""
        self.ensure_active()
        known = {"name", "region", "webhook_url", "storage"}
        changes = {k: v for k, v in changes.items() if k in known}
        if changes.get("name", "") is None or changes.get("region", "") is None:
            raise InvalidValueError("A project always has a name and a region")
        if "region" in changes:
            _check_region(changes["region"])
        if changes:
            self._updated(changes=changes, context=context)

    @event("Updated")
    def _updated(self, changes: dict[str, Any], context: CommandContext) -> None:
        for field, value in changes.items():
            setattr(self, field, value)

    def delete(self, deleted_at: datetime, context: CommandContext) -> None:
        self.ensure_active()
        self._deleted(deleted_at=deleted_at, context=context)

    @event("Deleted")
    def _deleted(self, deleted_at: datetime, context: CommandContext) -> None:
        self.deleted_at = deleted_at

    # -- API keys ---------------------------------------------------------------

    def key(self, key_id: str) -> ApiKey:
        try:
            return self.keys[key_id]
        except KeyError:
            raise InvalidValueError(f"No key '{key_id}' in this project") from None

    def active_keys(self, now: datetime) -> list[ApiKey]:
        return [k for k in self.keys.values() if k.accepts_at(now)]

    def add_key(
        self, key_id: str, name: str, digest: str, now: datetime, context: CommandContext
    ) -> None:
        self.ensure_active()
        if len(self.active_keys(now)) >= MAX_ACTIVE_KEYS:
            raise InvariantError(f"A project has at most {MAX_ACTIVE_KEYS} active keys")
        self._key_created(key_id=key_id, name=name, digest=digest, created_at=now, context=context)

    @event("KeyCreated")
    def _key_created(
        self, key_id: str, name: str, digest: str, created_at: datetime, context: CommandContext
    ) -> None:
        self.keys[key_id] = ApiKey(key_id, name, digest, created_at)

    def revoke_key(self, key_id: str, now: datetime, context: CommandContext) -> None:
        self.ensure_active()
        key = self.key(key_id)
        if key.revoked_at is not None:
            raise InvariantError("The key is already revoked")
        self._key_revoked(key_id=key_id, revoked_at=now, context=context)

    @event("KeyRevoked")
    def _key_revoked(self, key_id: str, revoked_at: datetime, context: CommandContext) -> None:
        self.keys[key_id].revoked_at = revoked_at

    def rotate_key(
        self,
        key_id: str,
        new_key_id: str,
        new_digest: str,
        now: datetime,
        old_valid_until: datetime,
        context: CommandContext,
    ) -> None:
        """Replace a key by a new one; the old one keeps working until ``old_valid_until``."""
        self.ensure_active()
        old = self.key(key_id)
        if not old.accepts_at(now):
            raise InvariantError("Only a key that still works can be rotated")
        if old_valid_until > now and len(self.active_keys(now)) >= MAX_ACTIVE_KEYS:
            # The old key keeps working during its grace period, beside the new one.
            raise InvariantError(
                f"A project has at most {MAX_ACTIVE_KEYS} working keys; rotate without a "
                "grace period, or revoke a key first"
            )
        self._key_rotated(
            key_id=key_id,
            new_key_id=new_key_id,
            new_digest=new_digest,
            created_at=now,
            old_valid_until=max(now, old_valid_until),
            context=context,
        )

    @event("KeyRotated")
    def _key_rotated(
        self,
        key_id: str,
        new_key_id: str,
        new_digest: str,
        created_at: datetime,
        old_valid_until: datetime,
        context: CommandContext,
    ) -> None:
        old = self.keys[key_id]
        self.keys[new_key_id] = ApiKey(new_key_id, old.name, new_digest, created_at)
        old.expires_at = _earlier(old.expires_at, old_valid_until)

    def regenerate_keys(
        self,
        new_key_id: str,
        new_digest: str,
        now: datetime,
        old_valid_until: datetime,
        context: CommandContext,
    ) -> None:
        """One fresh key; every key still working stops at ``old_valid_until``."""
        self.ensure_active()
        self._keys_regenerated(
            new_key_id=new_key_id,
            new_digest=new_digest,
            created_at=now,
            retired=[k.key_id for k in self.active_keys(now)],
            old_valid_until=max(now, old_valid_until),
            context=context,
        )

    @event("KeysRegenerated")
    def _keys_regenerated(
        self,
        new_key_id: str,
        new_digest: str,
        created_at: datetime,
        retired: list[str],
        old_valid_until: datetime,
        context: CommandContext,
    ) -> None:
        for key_id in retired:
            key = self.keys[key_id]
            key.expires_at = _earlier(key.expires_at, old_valid_until)
        self.keys[new_key_id] = ApiKey(new_key_id, "default", new_digest, created_at)
