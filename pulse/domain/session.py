"""Session: a login, held by a revocable refresh token that rotates on every use."""

from __future__ import annotations

import hmac
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.errors import ExpiredError, InvariantError, NotPermittedError

# Reuse is recognised for this many past tokens; older replays are merely refused.
USED_DIGESTS_KEPT = 32


class Session(Aggregate):
    @event("Started")
    def __init__(
        self, user_id: UUID, token_digest: str, expires_at: datetime, context: CommandContext
    ) -> None:
        self.user_id = user_id
        self.token_digest = token_digest
        self.expires_at = expires_at
        self.revoked_reason: str | None = None
        self.used_digests: list[str] = []

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

        A token that was current once and has been exchanged since is being replayed:
        someone holds a copy, so the whole session is revoked (reuse detection). A token
        that never belonged to the session is merely refused: the session id is no
        secret (it is in every access token), so a guess must not end anyone's session.
        """
        if self.is_revoked:
            raise InvariantError("The session was ended")
        if now >= self.expires_at:
            raise ExpiredError("The session expired")
        if self.matches(presented_digest):
            self._rotated(token_digest=new_digest, expires_at=expires_at, context=context)
        elif any(hmac.compare_digest(presented_digest, used) for used in self.used_digests):
            self._revoked(reason="refresh token reused", context=context)
        else:
            raise NotPermittedError("The refresh token does not belong to this session")

    @event("Rotated")
    def _rotated(self, token_digest: str, expires_at: datetime, context: CommandContext) -> None:
        self.used_digests = [*self.used_digests, self.token_digest][-USED_DIGESTS_KEPT:]
        self.token_digest = token_digest
        self.expires_at = expires_at

    def revoke(self, reason: str, context: CommandContext) -> None:
        if not self.is_revoked:
            self._revoked(reason=reason, context=context)

    @event("Revoked")
    def _revoked(self, reason: str, context: CommandContext) -> None:
        self.revoked_reason = reason
