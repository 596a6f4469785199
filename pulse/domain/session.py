"""Session: a login, held by a revocable refresh token that rotates on every use."""

from __future__ import annotations

import hmac
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.errors import ExpiredError, InvariantError


class Session(Aggregate):
    @event("Started")
    def __init__(
        self, user_id: UUID, token_digest: str, expires_at: datetime, context: CommandContext
    ) -> None:
        self.user_id = user_id
        self.token_digest = token_digest
        self.expires_at = expires_at
        self.revoked_reason: str | None = None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_reason is not None

    def matches(self, token_digest: str) -> bool:
        return hmac.compare_digest(self.token_digest, token_digest)

    def rotate(
        self,
        presented_digest: str,
        new_digest: str,
        expires_at: datetime,
        now: datetime,
        context: CommandContext,
    ) -> None:
        """Exchange the current refresh token for a new one.

        A token that does not match is an old one being replayed: someone holds a
        copy, so the whole session is revoked (refresh-token reuse detection).
        """
        if self.is_revoked:
            raise InvariantError("The session was ended")
        if now >= self.expires_at:
            raise ExpiredError("The session expired")
        if not self.matches(presented_digest):
            self._revoked(reason="refresh token reused", context=context)
            return
        self._rotated(token_digest=new_digest, expires_at=expires_at, context=context)

    @event("Rotated")
    def _rotated(self, token_digest: str, expires_at: datetime, context: CommandContext) -> None:
        self.token_digest = token_digest
        self.expires_at = expires_at

    def revoke(self, reason: str, context: CommandContext) -> None:
        if not self.is_revoked:
            self._revoked(reason=reason, context=context)

    @event("Revoked")
    def _revoked(self, reason: str, context: CommandContext) -> None:
        self.revoked_reason = reason
