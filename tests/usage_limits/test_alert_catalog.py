"""``usage.alert_raised`` in the event catalog: mapped from the alert, valid against
its schema, scoped to the project. No I/O."""

from __future__ import annotations

from uuid import uuid4

from pulse.domain.context import CommandContext
from pulse.domain.usage_alert import UsageAlert
from pulse.services.webhook_catalog import CATALOG
from tests.webhooks_out.test_catalog import only


def test_a_raised_alert_is_a_project_event_with_its_figures() -> None:
    project_id = uuid4()
    alert = UsageAlert(
        project_id=project_id,
        organization_id=uuid4(),
        period="2026-11",
        meter="egress_minutes",
        level="limit",
        percent="100.00",
        used="100.000",
        limit="100",
        plan="free",
        context=CommandContext.system("test"),
    )
    event = only(alert, "usage.alert_raised")
    assert event.project_id == project_id
    assert event.organization_id is None
    assert event.data == {
        "project_id": str(project_id),
        "period": "2026-11",
        "meter": "egress_minutes",
        "level": "limit",
        "percent": "100.00",
        "used": "100.000",
        "limit": "100",
        "plan": "free",
    }
    entry = CATALOG["usage.alert_raised"]
    assert entry.version == 1
    assert set(entry.schema["required"]) == set(event.data)
