"""The billing scenario's traffic, driven once per test module.

Project S (eu-west: egress through the Twirp double) gets the signed part, on the 14th
of the previous month, so its whole billing period holds only what this module sent:

- room "standup": alice 09:50:00.250 -> 10:20:01, bob 09:50:00.750 -> 10:20:00 (both
  across 10:00), carol 10:45:30.125 -> 12:15:45 (three hours), dave 11:59:59.999 ->
  12:00:01 whose ``participant_joined`` LiveKit never delivered (the leave is the first
  word Pulse hears of him, as happens when LiveKit drops webhooks);
- a room-composite egress requested through the API (the double plays LiveKit's egress
  service), then ``egress_started`` (started_at 10:55:00.500) and ``egress_ended``
  (ended_at 11:03:45.500, one MP4 of 2,250,000,000 bytes).

Project R (us-east: the real livekit-server) gets real participants: two rtc clients
join with Pulse tokens, publish a tone and leave; Pulse hears of them from LiveKit's
own webhooks only.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from livekit.api import WebhookEvent
from livekit.protocol import egress as eg

from pulse.domain.plans import Plan
from tests.billing_scenario.settling import settle
from tests.billing_scenario.traffic import (
    Deliveries,
    participant_event,
    room_event,
    room_of,
    unix_ns,
)
from tests.management.world import World
from tests.media.pulse_server import HOST, PORT, serving
from tests.media.twirp_double import LiveKitMediaDouble
from tests.media_api.participants import joined, publish_tone
from tests.media_webhooks.conftest import pulse_app

STORAGE = {
    "provider": "r2",
    "bucket": "recordings",
    "endpoint": "https://account.r2.cloudflarestorage.com",
    "access_key_id": "AKIDEXAMPLE",
    "secret_access_key": "r2-secret",
    "public_base_url": "https://cdn.example.com",
}
RECORDING_BYTES = 2_250_000_000


def signed_day(now: datetime | None = None) -> datetime:
    """Midnight of the 14th of the month before ``now``: a period already over, whose
    figures do not depend on the day the test runs."""
    now = now or datetime.now(UTC)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first - timedelta(days=1)).replace(day=14)


@dataclass(frozen=True)
class Stay:
    identity: str
    joined: datetime
    left: datetime
    """Whole seconds: a ``participant_left``'s moment is its ``created_at``."""
    join_delivered: bool = True


@dataclass
class Scenario:
    day: datetime
    organization_id: UUID
    project_s: UUID
    project_r: UUID
    key_s: str
    key_r: str
    stays: list[Stay]
    egress_started: datetime
    egress_ended: datetime
    egress_id: str
    deliveries: Deliveries
    real_room: str
    real_sessions: list[dict[str, Any]]

    @property
    def period_s(self) -> str:
        return f"{self.day:%Y-%m}"


def key(secret: str) -> dict[str, str]:
    return {"X-Pulse-Key": secret}


def stays_on(day: datetime) -> list[Stay]:
    def at(hour: int, minute: int, second: int, ms: int = 0) -> datetime:
        return day.replace(hour=hour, minute=minute, second=second, microsecond=ms * 1000)

    return [
        Stay("alice", at(9, 50, 0, 250), at(10, 20, 1)),
        Stay("bob", at(9, 50, 0, 750), at(10, 20, 0)),
        Stay("carol", at(10, 45, 30, 125), at(12, 15, 45)),
        Stay("dave", at(11, 59, 59, 999), at(12, 0, 1), join_delivered=False),
    ]


def signed_room_events(project: UUID, day: datetime) -> list[WebhookEvent]:
    """The room's webhooks in time order, as LiveKit sends them (dave's join missing)."""
    stays = stays_on(day)
    room = room_of(
        project, "standup", f"RM_{uuid.uuid4().hex[:12]}", day.replace(hour=9, minute=49)
    )
    sids = {stay.identity: f"PA_{uuid.uuid4().hex[:12]}" for stay in stays}
    timeline: list[tuple[datetime, WebhookEvent]] = []
    for stay in stays:
        sid = sids[stay.identity]
        if stay.join_delivered:
            event = participant_event(
                "participant_joined",
                room,
                sid,
                stay.identity,
                stay.joined,
                stay.joined.replace(microsecond=0),
            )
            timeline.append((stay.joined, event))
        left = participant_event(
            "participant_left", room, sid, stay.identity, stay.joined, stay.left
        )
        timeline.append((stay.left, left))
    return [
        room_event("room_started", room, day.replace(hour=9, minute=49)),
        *(event for _, event in sorted(timeline, key=lambda pair: pair[0])),
        room_event("room_finished", room, day.replace(hour=12, minute=16)),
    ]


def drive_signed_rooms(world: World, deliveries: Deliveries, project: UUID, day: datetime) -> None:
    for event in signed_room_events(project, day):
        assert deliveries.deliver(event) == "recorded", event


def egress_span(day: datetime) -> tuple[datetime, datetime]:
    """LiveKit's started_at and ended_at of the recording: 10:55:00.500 -> 11:03:45.500."""
    return (
        day.replace(hour=10, minute=55, second=0, microsecond=500_000),
        day.replace(hour=11, minute=3, second=45, microsecond=500_000),
    )


def request_egress(world: World, secret: str) -> tuple[str, str]:
    """An egress requested through the API (the double starts it): Pulse's id, LiveKit's."""
    answer = world.client.post(
        "/v1/media/egress/start",
        json={"room": "standup", "outputs": {"file": {}}},
        headers={**key(secret), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    return str(created["id"]), str(created["livekit_egress_id"])


def signed_egress_events(
    double: LiveKitMediaDouble, egress_id: str, livekit_id: str, started: datetime, ended: datetime
) -> list[WebhookEvent]:
    """``egress_started`` then ``egress_ended`` (complete, one MP4), as LiveKit reports them."""
    active = double.egress_info(
        livekit_id, eg.EgressStatus.EGRESS_ACTIVE, started_at=unix_ns(started)
    )
    started_event = WebhookEvent(
        event="egress_started",
        id=f"EV_{uuid.uuid4().hex[:12]}",
        created_at=int(started.timestamp()),
        egress_info=active,
    )
    complete = double.egress_info(
        livekit_id,
        eg.EgressStatus.EGRESS_COMPLETE,
        ended_at=unix_ns(ended),
        file_results=[
            eg.FileInfo(
                filename=f"recordings/standup/{egress_id}/recording.mp4",
                size=RECORDING_BYTES,
                duration=unix_ns(ended) - unix_ns(started),
                started_at=unix_ns(started),
                ended_at=unix_ns(ended),
            )
        ],
    )
    ended_event = WebhookEvent(
        event="egress_ended",
        id=f"EV_{uuid.uuid4().hex[:12]}",
        created_at=int(ended.timestamp()),
        egress_info=complete,
    )
    return [started_event, ended_event]


def drive_signed_egress(
    world: World,
    deliveries: Deliveries,
    double: LiveKitMediaDouble,
    secret: str,
    started: datetime,
    ended: datetime,
) -> str:
    """Request an egress through the API, then LiveKit's webhooks: started, ended."""
    egress_id, livekit_id = request_egress(world, secret)
    for event in signed_egress_events(double, egress_id, livekit_id, started, ended):
        assert deliveries.deliver(event) == "recorded", event
    return egress_id


# -- real participants through the real livekit-server ---------------------------------


def _port_busy() -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((HOST, PORT)) == 0


@contextmanager
def webhook_port(world: World, wait_seconds: float = 300.0) -> Iterator[str]:
    """Pulse on 127.0.0.1:8099, where livekit-server sends its webhooks. Other test
    modules (or other sessions' runs) may hold it for a while: wait for it."""
    deadline = time.monotonic() + wait_seconds
    while _port_busy():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{HOST}:{PORT} stayed busy for {wait_seconds} s")
        time.sleep(1.0)
    with serving(pulse_app(world.settings)) as url:
        yield url


def mint(world: World, secret: str, room: str, identity: str) -> dict[str, Any]:
    answer = world.client.post(
        "/v1/tokens/create",
        json={"room": room, "identity": identity},
        headers={**key(secret), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def closed_sessions(world: World, secret: str, room: str, count: int) -> list[dict[str, Any]]:
    """The room's sessions once ``count`` of them are closed (LiveKit's webhooks are
    asynchronous; the read model is settled inline)."""
    deadline = time.monotonic() + 30.0
    while True:
        settle(world)
        answer = world.client.get(f"/v1/rooms/{room}/sessions", headers=key(secret))
        if answer.status_code == 200:
            items: list[dict[str, Any]] = answer.json()["items"]
            if len(items) == count and not any(item["open"] for item in items):
                return items
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} closed sessions not seen: {answer.text}")
        time.sleep(0.3)


def drive_real_participants(world: World, secret: str, room: str) -> list[dict[str, Any]]:
    issued = [mint(world, secret, room, identity) for identity in ("erin", "frank")]

    async def stay(token: dict[str, Any], seconds: float) -> None:
        async with joined(token["url"], token["token"]) as connected:
            await publish_tone(connected, 0.5)
            await asyncio.sleep(seconds)

    async def both() -> None:
        await asyncio.gather(stay(issued[0], 2.0), stay(issued[1], 3.0))

    with webhook_port(world):
        asyncio.run(both())
        return closed_sessions(world, secret, room, 2)


def pro_organization(world: World) -> UUID:
    """A new organization of the owner, on the Pro plan from its creation.

    From its creation, so that the plan is the same at every moment of the periods
    billed (the invoice takes the plan at generation, ``pulse billing recompute`` the
    plan in effect at the period's end; a Free organization upgraded today would be
    Free at the end of last month's period to the latter).
    """
    answer = world.client.post(
        "/v1/organizations",
        json={"name": "Pro Media", "admin_email": "billing@example.com", "plan": str(Plan.PRO)},
        headers=world.headers("owner"),
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["plan"] == "pro"
    return UUID(answer.json()["id"])


def project_in(world: World, organization_id: UUID, region: str) -> UUID:
    answer = world.client.post(
        "/v1/projects",
        json={
            "organization_id": str(organization_id),
            "name": f"{region}-{uuid.uuid4().hex[:6]}",
            "region": region,
        },
        headers=world.headers("owner"),
    )
    assert answer.status_code == 201, answer.text
    return UUID(answer.json()["project"]["id"])


def set_storage(world: World, project_id: UUID) -> None:
    answer = world.client.put(
        f"/v1/projects/{project_id}", json={"storage": STORAGE}, headers=world.headers("owner")
    )
    assert answer.status_code == 200, answer.text


def drive(world: World, double: LiveKitMediaDouble) -> Scenario:
    organization = pro_organization(world)
    project_s = project_in(world, organization, "eu-west")  # egress: the Twirp double
    project_r = project_in(world, organization, "us-east")  # the real livekit-server
    key_s = world.new_key_secret(project_s)
    key_r = world.new_key_secret(project_r)
    settle(world)
    set_storage(world, project_s)
    day = signed_day()
    deliveries = Deliveries(world.client)
    drive_signed_rooms(world, deliveries, project_s, day)
    egress_started, egress_ended = egress_span(day)
    egress_id = drive_signed_egress(world, deliveries, double, key_s, egress_started, egress_ended)
    real_room = f"real-{uuid.uuid4().hex[:6]}"
    real_sessions = drive_real_participants(world, key_r, real_room)
    settle(world)
    return Scenario(
        day=day,
        organization_id=organization,
        project_s=project_s,
        project_r=project_r,
        key_s=key_s,
        key_r=key_r,
        stays=stays_on(day),
        egress_started=egress_started,
        egress_ended=egress_ended,
        egress_id=egress_id,
        deliveries=deliveries,
        real_room=real_room,
        real_sessions=real_sessions,
    )
