"""Standard Webhooks signatures and headers, with the reference library.

The signed content is ``<webhook-id>.<webhook-timestamp>.<body>`` (HMAC-SHA256 keyed with
the secret's bytes), written ``v1,<base64>``. During a rotation's grace period each
current secret signs, and the signatures go space-separated in one header: a receiver
holding either secret verifies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from math import floor
from typing import Any

from standardwebhooks.webhooks import Webhook

USER_AGENT = "Pulse-Webhooks/1"


def body_of(payload: dict[str, Any]) -> str:
    """The exact body sent: compact JSON of the stored payload, the same on every attempt."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def signature(secrets: list[str], message_id: str, timestamp: datetime, body: str) -> str:
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets)


def signed_headers(
    secrets: list[str], message_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    # The library signs whole seconds of the time given as UTC.
    timestamp = timestamp.astimezone(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(floor(timestamp.timestamp())),
        "webhook-signature": signature(secrets, message_id, timestamp, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
