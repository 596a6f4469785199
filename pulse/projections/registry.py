"""Every projection the runner knows, by name."""

from __future__ import annotations

from pulse.projections import (
    audit_log,
    billing,
    invitations,
    media_egress,
    media_ingress,
    media_rooms,
    members,
    organizations,
    projects,
    usage,
    usage_alerts,
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
    usage.PROJECTION,
    usage_alerts.PROJECTION,
    billing.PROJECTION,
    # Under load it has the most to apply, and the fan-out waits on the others.
    webhook_deliveries.PROJECTION,
    # Last: it reads nearly every event, and nothing waits on it.
    audit_log.PROJECTION,
)


class UnknownProjectionError(LookupError):
    """No projection has that name."""


def projection_named(name: str) -> Projection:
    for projection in PROJECTIONS:
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in PROJECTIONS)
    raise UnknownProjectionError(f"No projection named {name!r}; known: {known}")
