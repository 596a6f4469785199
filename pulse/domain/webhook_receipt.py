"""WebhookReceipt: a LiveKit webhook that changed something, recorded once.

Its id is derived from LiveKit's event id and it is saved in the same save as the
aggregates the webhook changed, so a redelivery of the same event collides on the
event store's unique key and nothing of it is recorded twice.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext

_RECEIPT_NAMESPACE = UUID("73110ff2-cb65-466b-8f27-7b760aa392c9")


def receipt_id(livekit_event_id: str) -> UUID:
    return uuid5(_RECEIPT_NAMESPACE, livekit_event_id)


class WebhookReceipt(Aggregate):
    @staticmethod
    def create_id(livekit_event_id: str) -> UUID:
        return receipt_id(livekit_event_id)

    @event("Received")
    def __init__(
        self,
        livekit_event_id: str,
        event_name: str,
        project_id: UUID,
        room: str,
        received_at: datetime,
        context: CommandContext,
    ) -> None:
        self.livekit_event_id = livekit_event_id
        self.event_name = event_name
        self.project_id = project_id
        self.room = room
        self.received_at = received_at
