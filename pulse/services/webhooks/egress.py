"""Webhook handlers for LiveKit's egress events."""

from __future__ import annotations

from pulse.services.webhooks.model import Handler

HANDLERS: dict[str, Handler] = {}
