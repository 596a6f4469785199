"""AccessAttempt: a signed-in member asked for something their role does not allow.

The refusal changes nothing else, so without an event of its own it would leave no
trace; recording it puts the attempt in the organization's audit log (outcome
"denied"). One aggregate per attempt, under a random id: attempts are independent
facts, never changed afterwards.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext

MAX_REASON_LENGTH = 500


class AccessAttempt(Aggregate):
    @event("Denied")
    def __init__(
        self,
        organization_id: UUID,
        project_id: UUID | None,
        action: str,
        resource_type: str,
        resource_id: str | None,
        reason: str,
        context: CommandContext,
    ) -> None:
        self.organization_id = organization_id
        self.project_id = project_id
        self.action = action
        """The method and route template attempted: ``DELETE /v1/projects/{project_id}``."""
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.reason = reason[:MAX_REASON_LENGTH]
