"""LiveKit traffic for the billing scenario: signed webhooks with chosen times, kept for
redelivery, and the per-hour arithmetic the test checks Pulse against.

LiveKit's clock cannot be moved, so a stay or a recording that crosses an hour boundary
at a chosen moment is told to Pulse by webhooks signed exactly as livekit-server signs
them (``tests/media/livekit_signing.py``), POSTed to the same intake as LiveKit's own.
What LiveKit puts where (and so what this module must set):

- ``participant_joined`` / ``participant_left``: the join is the participant's
  ``joined_at_ms`` (milliseconds); the leave is the event's ``created_at``, which
  LiveKit stamps in whole **seconds** (a delivery arriving later than that second,
  as these do, pins nothing finer). So chosen leave times are whole seconds.
- ``egress_started`` / ``egress_ended``: ``EgressInfo.started_at`` / ``ended_at`` in
  Unix nanoseconds, file results with their sizes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient
from livekit.api import WebhookEvent
from livekit.protocol.models import ParticipantInfo, Room

from pulse.livekit.naming import livekit_room
from tests.media.livekit_signing import signed_webhook

WEBHOOK = "/v1/webhooks/livekit"
HOUR = timedelta(hours=1)


def unix_ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def unix_ns(moment: datetime) -> int:
    return unix_ms(moment) * 1_000_000


@dataclass
class Sent:
    """One signed webhook as it was POSTed: the same bytes can be delivered again."""

    name: str
    body: str
    headers: dict[str, str]
    outcome: str


@dataclass
class Deliveries:
    """Everything POSTed to the intake, in order."""

    client: TestClient
    sent: list[Sent] = field(default_factory=list)

    def deliver(self, event: WebhookEvent) -> str:
        body, headers = signed_webhook(event)
        outcome = self.post(body, headers)
        self.sent.append(Sent(event.event, body, headers, outcome))
        return outcome

    def post(self, body: str, headers: dict[str, str]) -> str:
        answer = self.client.post(WEBHOOK, content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        outcome: str = answer.json()["outcome"]
        return outcome


def room_of(project_id: UUID, room: str, sid: str, created: datetime) -> Room:
    return Room(
        sid=sid,
        name=livekit_room(project_id, room),
        creation_time=int(created.timestamp()),
        creation_time_ms=unix_ms(created),
    )


def room_event(name: str, room: Room, at: datetime) -> WebhookEvent:
    return WebhookEvent(
        event=name, id=f"EV_{uuid.uuid4().hex[:12]}", created_at=int(at.timestamp()), room=room
    )


def participant_event(
    name: str, room: Room, sid: str, identity: str, joined: datetime, at: datetime
) -> WebhookEvent:
    """``at`` is the event's ``created_at`` (whole seconds, as LiveKit stamps it)."""
    assert at.microsecond == 0 or name == "participant_joined", "LiveKit stamps whole seconds"
    return WebhookEvent(
        event=name,
        id=f"EV_{uuid.uuid4().hex[:12]}",
        created_at=int(at.timestamp()),
        room=room,
        participant=ParticipantInfo(
            sid=sid,
            identity=identity,
            name=identity.title(),
            joined_at=int(joined.timestamp()),
            joined_at_ms=unix_ms(joined),
        ),
    )


# -- the arithmetic, done here independently of pulse.domain.metering ------------------


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ms_by_hour(start: datetime, end: datetime) -> dict[datetime, int]:
    """Whole milliseconds of [start, end) in each UTC hour, counted from ``start``."""
    pieces: dict[datetime, int] = {}
    hour = hour_floor(start)
    done = 0
    while hour < end:
        cut = min(hour + HOUR, end)
        elapsed = max(0, (cut - start) // timedelta(milliseconds=1))
        if elapsed > done:
            pieces[hour] = elapsed - done
        done = max(done, elapsed)
        hour += HOUR
    return pieces


def add_into(total: dict[datetime, int], pieces: dict[datetime, int]) -> None:
    for hour, ms in pieces.items():
        total[hour] = total.get(hour, 0) + ms


def parse_time(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
