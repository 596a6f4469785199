"""Webhooks as livekit-server would send them, and what Pulse recorded of them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from livekit.api import WebhookEvent
from livekit.protocol.models import ParticipantInfo, Room, TrackInfo, TrackType

from pulse.livekit.naming import livekit_room
from tests.management.world import World
from tests.media.livekit_signing import signed_webhook

T = TypeVar("T")
WEBHOOK = "/v1/webhooks/livekit"


def key_headers(secret: str) -> dict[str, str]:
    return {"X-Pulse-Key": secret}


def unix_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def room_info(project_id: UUID, room: str, sid: str, created: datetime) -> Room:
    return Room(
        sid=sid,
        name=livekit_room(project_id, room),
        creation_time=int(created.timestamp()),
        creation_time_ms=unix_ms(created),
    )


def participant_event(
    name: str,
    room: Room,
    participant_sid: str,
    identity: str,
    joined: datetime,
    at: datetime,
    **extra: Any,
) -> WebhookEvent:
    """A ``participant_joined`` / ``participant_left`` (or track) event, with a fresh id."""
    return WebhookEvent(
        event=name,
        id=f"EV_{uuid.uuid4().hex[:12]}",
        created_at=int(at.timestamp()),
        room=room,
        participant=ParticipantInfo(
            sid=participant_sid,
            identity=identity,
            name=identity.title(),
            joined_at=int(joined.timestamp()),
            joined_at_ms=unix_ms(joined),
        ),
        **extra,
    )


def audio_track(sid: str) -> TrackInfo:
    return TrackInfo(sid=sid, type=TrackType.AUDIO, name="tone")


def deliver(world: World, event: WebhookEvent) -> Any:
    """POST the event, signed as livekit-server signs it."""
    body, headers = signed_webhook(event)
    return world.client.post(WEBHOOK, content=body, headers=headers)


def last_event_id(world: World) -> int:
    """The newest committed notification id: unchanged means nothing was appended."""
    return int(world.app.recorder.max_notification_id() or 0)


def sessions_of(world: World, secret: str, room: str) -> Any:
    return world.client.get(f"/v1/rooms/{room}/sessions", headers=key_headers(secret))


def eventually(read: Callable[[], T | None], seconds: float = 15.0) -> T:
    """Settle the read models and read until ``read`` answers (webhooks are asynchronous)."""
    deadline = time.monotonic() + seconds
    while True:
        found = read()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing within {seconds} s")
        time.sleep(0.2)
