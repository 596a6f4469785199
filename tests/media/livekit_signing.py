"""Webhooks signed exactly as livekit-server signs them, for tests of the intake.

livekit-server (pkg/webhook) sends the event as protobuf JSON with
``Content-Type: application/webhook+json`` and an ``Authorization`` header holding an
access token, signed with the API secret and issued by the API key, whose ``sha256``
claim is the base64 SHA-256 of the body.
"""

from __future__ import annotations

import base64
import hashlib
import uuid

from google.protobuf.json_format import MessageToJson
from livekit.api import AccessToken, WebhookEvent

API_KEY = "devkey"
API_SECRET = "secret"


def sign(body: str, api_key: str = API_KEY, api_secret: str = API_SECRET) -> str:
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    return AccessToken(api_key, api_secret).with_sha256(digest).to_jwt()


def signed_webhook(
    event: WebhookEvent, api_key: str = API_KEY, api_secret: str = API_SECRET
) -> tuple[str, dict[str, str]]:
    """The body and headers livekit-server would POST for ``event``."""
    if not event.id:
        event.id = f"EV_{uuid.uuid4().hex[:12]}"
    body = MessageToJson(event)
    headers = {
        "Content-Type": "application/webhook+json",
        "Authorization": sign(body, api_key, api_secret),
    }
    return body, headers
