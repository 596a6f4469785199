"""Reading usage and invoices the way a customer does: through the API.

The routes' shapes are the shared spec's (issue 4): a bucket or a period's usage is
``{"participant_ms": int, ..., "participant_minutes": "12.345", ...}``; the raw bucket
list may be a bare list or a page (``items`` and ``next_cursor``), both are read.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from tests.billing_scenario.traffic import parse_time

RAW_FIELDS = (
    "participant_ms",
    "egress_ms",
    "ingress_ms",
    "storage_bytes",
    "bandwidth_bytes",
    "api_requests",
)


def _items(body: Any) -> tuple[list[dict[str, Any]], str | None]:
    if isinstance(body, list):
        return body, None
    for name in ("items", "buckets"):
        if name in body:
            return list(body[name]), body.get("next_cursor")
    raise AssertionError(f"no bucket list in {body!r}")


def buckets(
    client: TestClient,
    headers: dict[str, str],
    project_id: UUID,
    granularity: str,
    start: datetime,
    end: datetime,
) -> dict[datetime, dict[str, int]]:
    """Every stored bucket of [start, end), by its start: its raw integer fields
    (absent meters are 0)."""
    found: dict[datetime, dict[str, int]] = {}
    params: dict[str, Any] = {
        "granularity": granularity,
        "from": start.isoformat(),
        "to": end.isoformat(),
    }
    while True:
        answer = client.get(f"/v1/usage/{project_id}", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        items, cursor = _items(answer.json())
        for item in items:
            moment = parse_time(item["start"])
            figures = item.get("usage", item)  # {"start", "end", "usage": {...}} or flat
            if start <= moment < end:
                found[moment] = {name: int(figures.get(name) or 0) for name in RAW_FIELDS}
        if not cursor:
            return found
        params["cursor"] = cursor


def summary(
    client: TestClient, headers: dict[str, str], project_id: UUID, period: str
) -> dict[str, Any]:
    answer = client.get(
        f"/v1/usage/{project_id}/summary", params={"period": period}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    # The usage may be the body itself or nested under "usage".
    usage: dict[str, Any] = body.get("usage", body)
    return usage


def generate_invoice(
    client: TestClient, headers: dict[str, str], project_id: UUID, period: str
) -> dict[str, Any]:
    """The period's invoice: generated, or (409) the one generated before, from the list."""
    answer = client.post(
        f"/v1/billing/{project_id}/invoice",
        json={"period": period},
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    if answer.status_code == 409:
        listed = client.get(f"/v1/billing/{project_id}/invoices", headers=headers)
        assert listed.status_code == 200, listed.text
        items, _ = _items(listed.json())
        found = [item for item in items if item["period"] == period]
        assert len(found) == 1, (answer.text, listed.text)
        return found[0]
    assert answer.status_code in (200, 201), answer.text
    body: dict[str, Any] = answer.json()
    return body


def get_invoice(client: TestClient, headers: dict[str, str], invoice_id: str) -> dict[str, Any]:
    answer = client.get(f"/v1/billing/invoice/{invoice_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


Line = tuple[str, Decimal, int, Decimal, int, Decimal]


def lines_of(invoice: dict[str, Any]) -> list[Line]:
    """(item, quantity, raw_quantity, unit_price, per, amount) of each line, in order.

    Decimals compare by value ("1" == "1.000"); every amount must be shown to the cent.
    """
    lines: list[Line] = []
    for line in invoice["lines"]:
        amount = str(line["amount"])
        assert re.fullmatch(r"-?\d+\.\d\d", amount), f"not to the cent: {line!r}"
        lines.append(
            (
                str(line["item"]),
                Decimal(str(line["quantity"])),
                int(line["raw_quantity"]),
                Decimal(str(line["unit_price"])),
                int(line["per"]),
                Decimal(amount),
            )
        )
    return lines
