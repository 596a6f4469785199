"""Which plan an organization was on at a given moment, from its events.

Invoices and their recomputation price a period under the plan in effect at the
period's end (for the running period: the plan now), so both are functions of the
event log alone and agree whenever they are computed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pulse.domain.plans import Plan
from pulse.services.application import PulseApplication
from pulse.services.clock import as_utc


def plan_at(app: PulseApplication, organization_id: UUID, moment: datetime) -> Plan:
    """The organization's plan in effect at ``moment``: the last one set before it (its
    first plan if it was created later)."""
    plan: Plan | None = None
    event: Any
    for event in app.repository.event_store.get(organization_id):
        if plan is not None and as_utc(event.timestamp) >= moment:
            break
        if hasattr(event, "plan"):  # Created
            plan = Plan(event.plan)
        elif isinstance(changes := getattr(event, "changes", None), dict) and "plan" in changes:
            plan = Plan(changes["plan"])
    if plan is None:
        raise LookupError(f"Organization {organization_id} has no recorded plan")
    return plan
