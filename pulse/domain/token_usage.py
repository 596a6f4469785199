"""Tokens minted by a project, counted in Redis and recorded one batch at a time.

Minting is the hot path: one event per token would make every mint a write to the
event store. Instead each mint increments a counter, and the worker records the
counts as one ``Counted`` event per project per flushed batch.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext

_TOKEN_USAGE_NAMESPACE = UUID("3f0c8a7e-91b2-4d6e-a5c4-7b2e1d9f0c13")


def token_usage_id(project_id: UUID, batch: str) -> UUID:
    """One record per (project, batch): recording a batch twice collides."""
    return uuid5(_TOKEN_USAGE_NAMESPACE, f"{project_id}:{batch}")


class TokenUsage(Aggregate):
    @staticmethod
    def create_id(project_id: UUID, batch: str) -> UUID:
        return token_usage_id(project_id, batch)

    @event("Counted")
    def __init__(
        self,
        project_id: UUID,
        batch: str,
        count: int,
        flushed_at: datetime,
        context: CommandContext,
    ) -> None:
        self.project_id = project_id
        self.batch = batch
        self.count = count
        self.flushed_at = flushed_at
