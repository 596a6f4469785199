"""Invitation: an offer to join an organization with a role, accepted with a secret token."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.errors import ExpiredError, InvariantError, NotPermittedError
from pulse.domain.roles import Role
from pulse.domain.user import normalize_email

INVITATION_LIFETIME = timedelta(days=7)


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


class Invitation(Aggregate):
    @event("Sent")
    def __init__(
        self,
        organization_id: UUID,
        email: str,
        role: str,
        token_digest: str,
        expires_at: datetime,
        context: CommandContext,
    ) -> None:
        self.organization_id = organization_id
        self.email = normalize_email(email)
        self.role = Role(role)
        self.token_digest = token_digest
        self.expires_at = expires_at
        self.status = InvitationStatus.PENDING
        self.accepted_by: UUID | None = None
        self.invited_by = context

    def is_pending(self, now: datetime) -> bool:
        return self.status is InvitationStatus.PENDING and now < self.expires_at

    def matches(self, token_digest: str) -> bool:
        return hmac.compare_digest(self.token_digest, token_digest)

    def accept(self, user_id: UUID, email: str, now: datetime, context: CommandContext) -> None:
        if self.status is not InvitationStatus.PENDING:
            raise InvariantError(f"The invitation was already {self.status}")
        if now >= self.expires_at:
            raise ExpiredError("The invitation expired")
        if normalize_email(email) != self.email:
            raise NotPermittedError("The invitation was sent to another email address")
        self._accepted(user_id=user_id, context=context)

    @event("Accepted")
    def _accepted(self, user_id: UUID, context: CommandContext) -> None:
        self.status = InvitationStatus.ACCEPTED
        self.accepted_by = user_id

    def revoke(self, context: CommandContext) -> None:
        if self.status is not InvitationStatus.PENDING:
            raise InvariantError(f"The invitation was already {self.status}")
        self._revoked(context=context)

    @event("Revoked")
    def _revoked(self, context: CommandContext) -> None:
        self.status = InvitationStatus.REVOKED
