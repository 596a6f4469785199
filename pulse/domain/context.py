"""Who did something, from where, under which request: carried by every event.

The audit trail is the event stream, so each command passes a ``CommandContext`` to
the aggregate and each event records it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class ActorKind(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    SYSTEM = "system"


@dataclass(frozen=True)
class CommandContext:
    actor_kind: ActorKind
    actor_id: str
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "actor_kind": str(self.actor_kind)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CommandContext:
        return cls(**{**data, "actor_kind": ActorKind(data["actor_kind"])})

    @classmethod
    def system(cls, reason: str) -> CommandContext:
        """Context for changes Pulse makes on its own (schedules, reconciliation)."""
        return cls(actor_kind=ActorKind.SYSTEM, actor_id=reason)
