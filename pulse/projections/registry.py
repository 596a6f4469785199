"""Every projection the runner knows, by name."""

from __future__ import annotations

from pulse.projections import (
    invitations,
    media_egress,
    media_ingress,
    media_rooms,
    members,
    organizations,
    projects,
    users,
    webhook_deliveries,
    webhook_endpoints,
)
from pulse.projections.model import Projection

PROJECTIONS: tuple[Projection, ...] = (
    users.PROJECTION,
    organizations.PROJECTION,
    members.PROJECTION,
    projects.PROJECTION,
    invitations.PROJECTION,
    media_rooms.PROJECTION,
    media_egress.PROJECTION,
    media_ingress.PROJECTION,
    webhook_endpoints.PROJECTION,
    # Last: under load it has the most to apply, and the fan-out waits on the others.
    webhook_deliveries.PROJECTION,
)


class UnknownProjectionError(LookupError):
    """No projection has that name."""


def projection_named(name: str) -> Projection:
    for projection in PROJECTIONS:
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in PROJECTIONS)
    raise UnknownProjectionError(f"No projection named {name!r}; known: {known}")
