"""How far each projection has read, and how far behind the log it is."""

from __future__ import annotations

from dataclasses import dataclass

from pulse.config import Settings
from pulse.projections.model import Projection
from pulse.projections.registry import PROJECTIONS
from pulse.projections.store import newest_notification_id, tracking_recorder
from pulse.services.application import PulseApplication


@dataclass(frozen=True, slots=True)
class ProjectionStatus:
    name: str
    collections: tuple[str, ...]
    position: int
    newest: int
    """The newest committed notification id."""

    @property
    def lag(self) -> int:
        return max(0, self.newest - self.position)


def projection_statuses(
    app: PulseApplication,
    settings: Settings,
    projections: tuple[Projection, ...] = PROJECTIONS,
) -> list[ProjectionStatus]:
    tracking = tracking_recorder(app, settings)
    newest = newest_notification_id(app)
    return [
        ProjectionStatus(
            name=projection.name,
            collections=projection.collections,
            position=tracking.max_tracking_id(projection.name) or 0,
            newest=newest,
        )
        for projection in projections
    ]
