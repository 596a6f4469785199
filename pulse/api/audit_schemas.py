"""Response bodies of the audit-log routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Outcome = Literal["success", "failure", "denied"]


class AuditActor(BaseModel):
    kind: Literal["user", "api_key", "system"]
    id: str = Field(description="A user id, a project key id, or what Pulse did on its own.")


class AuditResource(BaseModel):
    type: str = Field(description="`project`, `member`, `webhook_endpoint`...")
    id: str | None = Field(description="Null for a denied attempt to create one.")


class AuditEntryOut(BaseModel):
    id: str = Field(description="`<aggregate id>:<version>` of the recorded event.")
    at: datetime
    organization_id: str
    project_id: str | None
    actor: AuditActor
    ip: str | None
    user_agent: str | None
    request_id: str | None
    action: str = Field(description="`<resource type>.<event>`, e.g. `project.key_rotated`.")
    resource: AuditResource
    outcome: Outcome
    details: dict[str, Any] = Field(
        description="Names of changed fields and safe values; never secrets."
    )


class AuditStatsOut(BaseModel):
    organization_id: str
    total: int
    by_action: dict[str, int]
    by_outcome: dict[str, int]
    by_actor_kind: dict[str, int]


class AuditRecentOut(BaseModel):
    items: list[AuditEntryOut] = Field(description="Newest first.")
