"""Organization: the tenant. It owns projects and members and keeps its Owner roster."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.errors import DeletedError, InvariantError
from pulse.domain.plans import Plan


class Organization(Aggregate):
    """Tenant aggregate.

    The Owner roster lives here (not only on the members) so that "an organization
    always keeps at least one Owner" is checked by one aggregate: every change of an
    Owner is saved together with this aggregate, and its optimistic concurrency
    serialises concurrent demotions.
    """

    @event("Created")
    def __init__(
        self, name: str, admin_email: str, plan: str, creator_id: UUID, context: CommandContext
    ) -> None:
        self.name = name
        self.admin_email = admin_email
        self.plan = Plan(plan)
        self.owner_ids: set[UUID] = {creator_id}
        self.created_by = context
        self.deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def ensure_active(self) -> None:
        if self.is_deleted:
            raise DeletedError("The organization was deleted")

    def update(self, changes: dict[str, Any], context: CommandContext) -> None:
        self.ensure_active()
        known = {"name", "admin_email", "plan"}
        changes = {k: str(v) for k, v in changes.items() if k in known and v is not None}
        if "plan" in changes:
            changes["plan"] = str(Plan(changes["plan"]))
        if changes:
            self._updated(changes=changes, context=context)

    @event("Updated")
    def _updated(self, changes: dict[str, str], context: CommandContext) -> None:
        self.name = changes.get("name", self.name)
        self.admin_email = changes.get("admin_email", self.admin_email)
        self.plan = Plan(changes.get("plan", self.plan))

    def delete(self, deleted_at: datetime, context: CommandContext) -> None:
        self.ensure_active()
        self._deleted(deleted_at=deleted_at, context=context)

    @event("Deleted")
    def _deleted(self, deleted_at: datetime, context: CommandContext) -> None:
        self.deleted_at = deleted_at

    def add_owner(self, user_id: UUID, context: CommandContext) -> None:
        self.ensure_active()
        if user_id not in self.owner_ids:
            self._owner_added(user_id=user_id, context=context)

    @event("OwnerAdded")
    def _owner_added(self, user_id: UUID, context: CommandContext) -> None:
        self.owner_ids.add(user_id)

    def remove_owner(self, user_id: UUID, context: CommandContext) -> None:
        self.ensure_active()
        if user_id not in self.owner_ids:
            return
        if self.owner_ids == {user_id}:
            raise InvariantError("An organization must keep at least one Owner")
        self._owner_removed(user_id=user_id, context=context)

    @event("OwnerRemoved")
    def _owner_removed(self, user_id: UUID, context: CommandContext) -> None:
        self.owner_ids.discard(user_id)
