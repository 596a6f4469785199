"""UsageAlert: a project's meter reached a share of its plan's limit in a period.

One alert per (project, period, meter, level): its id is derived from those four,
so raising it again (another check, another worker, a retried job) collides in the
event store instead of alerting twice. The event carries what was seen when it was
raised (usage, limit, plan), which is what the webhook and the alert list show.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.limits import AlertLevel
from pulse.domain.metering import Meter

_USAGE_ALERT_NAMESPACE = UUID("8d1f6c2a-47e3-4b9a-b0d5-3c6e9f2a7b14")


def usage_alert_id(
    project_id: UUID, period: str, meter: Meter | str, level: AlertLevel | str
) -> UUID:
    return uuid5(_USAGE_ALERT_NAMESPACE, f"{project_id}:{period}:{meter}:{level}")


class UsageAlert(Aggregate):
    @staticmethod
    def create_id(project_id: UUID, period: str, meter: str, level: str) -> UUID:
        return usage_alert_id(project_id, period, meter, level)

    @event("Raised")
    def __init__(
        self,
        project_id: UUID,
        organization_id: UUID,
        period: str,
        meter: str,
        level: str,
        percent: str,
        used: str,
        limit: str,
        plan: str,
        context: CommandContext,
    ) -> None:
        self.project_id = project_id
        self.organization_id = organization_id
        self.period = period
        self.meter = Meter(meter)
        self.level = AlertLevel(level)
        self.percent = percent
        """Of the limit, two decimals, as a string (``"80.00"``)."""
        self.used = used
        """In billing units, three decimals, as a string."""
        self.limit = limit
        """In billing units, as a string."""
        self.plan = plan
