"""LiveKitAlias: which Pulse aggregate a LiveKit id (``EG_...``, ``IN_...``) belongs to.

Egresses and ingresses are recorded under Pulse's own id before LiveKit assigns
its id, yet webhooks name them by LiveKit's id only. The alias's id is derived from
LiveKit's id, so a webhook handler finds its aggregate with two loads of the event
store (no eventually consistent read model in the way), and the alias is saved in
the same save as LiveKit's answer: either both exist or neither does. A second
alias for the same LiveKit id collides on the event store's unique key.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext

_ALIAS_NAMESPACE = UUID("5f0e3c1a-8b7d-4e2f-9a6c-1d4b7e0f2a93")


class AliasKind(StrEnum):
    EGRESS = "egress"
    INGRESS = "ingress"


def alias_id(kind: AliasKind, livekit_id: str) -> UUID:
    return uuid5(_ALIAS_NAMESPACE, f"{kind}:{livekit_id}")


class LiveKitAlias(Aggregate):
    @staticmethod
    def create_id(kind: AliasKind, livekit_id: str) -> UUID:
        return alias_id(kind, livekit_id)

    @event("Assigned")
    def __init__(
        self,
        kind: AliasKind,
        livekit_id: str,
        target_id: UUID,
        project_id: UUID,
        context: CommandContext,
    ) -> None:
        self.kind = AliasKind(kind)
        self.livekit_id = livekit_id
        self.target_id = target_id
        self.project_id = project_id
