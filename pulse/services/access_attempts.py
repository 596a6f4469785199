"""Recording a member's refused attempt, so that it shows in the audit log as denied."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pulse.domain.access_attempt import AccessAttempt
from pulse.domain.context import CommandContext
from pulse.services.application import PulseApplication


@dataclass(frozen=True)
class DeniedAttempt:
    """Where and at what a member was refused (the route's words, see ``pulse.api``)."""

    organization_id: UUID
    project_id: UUID | None
    action: str
    resource_type: str
    resource_id: str | None
    reason: str


def record_denied(app: PulseApplication, attempt: DeniedAttempt, context: CommandContext) -> UUID:
    """Save the attempt as an ``AccessAttempt.Denied`` event; returns its id."""
    recorded = AccessAttempt(
        organization_id=attempt.organization_id,
        project_id=attempt.project_id,
        action=attempt.action,
        resource_type=attempt.resource_type,
        resource_id=attempt.resource_id,
        reason=attempt.reason,
        context=context,
    )
    app.save(recorded)
    return recorded.id
