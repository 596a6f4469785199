"""Member: one user's place in one organization, with a role."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.errors import InvariantError
from pulse.domain.roles import Role

_MEMBER_NAMESPACE = UUID("5a0f9f1e-7a4c-4d57-9a64-6a1c2e9a6f01")


def member_id(organization_id: UUID, user_id: UUID) -> UUID:
    """One member per (organization, user): the id itself makes a second one conflict."""
    return uuid5(_MEMBER_NAMESPACE, f"{organization_id}:{user_id}")


class Member(Aggregate):
    @staticmethod
    def create_id(organization_id: UUID, user_id: UUID) -> UUID:
        return member_id(organization_id, user_id)

    @event("Joined")
    def __init__(
        self,
        organization_id: UUID,
        user_id: UUID,
        email: str,
        role: str,
        context: CommandContext,
    ) -> None:
        self.organization_id = organization_id
        self.user_id = user_id
        self.email = email
        self.role = Role(role)
        self.active = True
        self.rejoined_at: datetime | None = None

    def ensure_active(self) -> None:
        if not self.active:
            raise InvariantError("This user is no longer a member of the organization")

    def change_role(self, role: Role, context: CommandContext) -> None:
        self.ensure_active()
        if role is not self.role:
            self._role_changed(role=str(role), previous=str(self.role), context=context)

    @event("RoleChanged")
    def _role_changed(self, role: str, previous: str, context: CommandContext) -> None:
        self.role = Role(role)

    def remove(self, context: CommandContext) -> None:
        self.ensure_active()
        self._removed(context=context)

    @event("Removed")
    def _removed(self, context: CommandContext) -> None:
        self.active = False

    def rejoin(self, role: Role, rejoined_at: datetime, context: CommandContext) -> None:
        if self.active:
            raise InvariantError("This user is already a member of the organization")
        self._rejoined(role=str(role), context=context, rejoined_at=rejoined_at)

    @event("Rejoined")
    def _rejoined(
        self, role: str, context: CommandContext, rejoined_at: datetime | None = None
    ) -> None:
        # ``rejoined_at`` came later than the event: older events replay without it.
        self.role = Role(role)
        self.active = True
        self.rejoined_at = rejoined_at
