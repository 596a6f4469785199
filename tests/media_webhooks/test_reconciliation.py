"""Reconciliation closes sessions whose ``participant_left`` never reached Pulse.

No Pulse server listens for LiveKit's webhooks in this module: LiveKit's own
deliveries are lost, as under an outage, and the test delivers the ones it wants
(signed as LiveKit signs them). The participant is real, so LiveKit's listings are.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from livekit import api as lk

from pulse.clients import open_clients
from pulse.domain.participant_session import ParticipantSession, session_id
from pulse.domain.room import ClosedBy, room_id
from pulse.domain.room import Room as PulseRoom
from pulse.services.reconciliation import (
    PARTICIPANT_GONE,
    ROOM_GONE,
    ReconciliationReport,
    ReconciliationSettings,
    reconcile,
)
from pulse.workers.context import CLIENTS_KEY, PROVIDER_KEY, SETTINGS_KEY, JobContext
from pulse.workers.reconciliation_jobs import RECONCILIATION_SETTINGS_KEY, reconcile_rooms
from tests.management.world import World
from tests.media_api.participants import joined, publish_tone
from tests.media_webhooks.helpers import (
    audio_track,
    deliver,
    key_headers,
    last_event_id,
    participant_event,
    room_info,
    sessions_of,
)


def one_pass(world: World, grace: float) -> ReconciliationReport:
    """One pass, with clients of its own (the app's are bound to its own event loop)."""
    options = ReconciliationSettings(_env_file=None, grace_seconds=grace)

    async def run() -> ReconciliationReport:
        async with open_clients(world.settings, app_name="reconciliation-test") as clients:
            return await reconcile(
                world.app,
                clients.database,
                clients.livekit,
                clients.redis,
                world.settings.redis_key_prefix,
                options,
            )

    return asyncio.run(run())


def run_job(world: World, grace: float) -> dict[str, int | str | None]:
    """The arq job ``reconcile_rooms``, with the context a worker gives it."""
    options = ReconciliationSettings(_env_file=None, grace_seconds=grace)

    async def run() -> dict[str, int | str | None]:
        async with open_clients(world.settings, app_name="reconciliation-job-test") as clients:
            ctx: JobContext = {
                SETTINGS_KEY: world.settings,
                CLIENTS_KEY: clients,
                PROVIDER_KEY: world.client.app.state.pulse,  # type: ignore[attr-defined]
                RECONCILIATION_SETTINGS_KEY: options,
            }
            return await reconcile_rooms(ctx)

    return asyncio.run(run())


def only_session(world: World, secret: str, room: str) -> dict[str, Any]:
    world.settle()
    answer = sessions_of(world, secret, room)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    assert len(items) == 1
    return items[0]


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def test_a_lost_participant_left_is_closed_at_the_last_sighting(
    world: World, keys: dict[str, str]
) -> None:
    name = f"lost-{uuid.uuid4().hex[:6]}"
    issued = world.client.post(
        "/v1/tokens/create",
        json={"room": name, "identity": "carol"},
        headers=key_headers(keys["a"]),
    ).json()
    joined_at = datetime.now(UTC) - timedelta(milliseconds=200)

    async def stay() -> tuple[str, str, ReconciliationReport]:
        async with joined(issued["url"], issued["token"]) as room:
            publication = await publish_tone(room, 0.2)
            room_sid, participant_sid = await room.sid, room.local_participant.sid
            info = room_info(world.project_a, name, room_sid, joined_at)
            event = participant_event(
                "participant_joined", info, participant_sid, "carol", joined_at, joined_at
            )
            assert deliver(world, event).json()["outcome"] == "recorded"
            track = participant_event(
                "track_published",
                info,
                participant_sid,
                "carol",
                joined_at,
                datetime.now(UTC),
                track=audio_track(publication.sid),
            )
            assert deliver(world, track).json()["outcome"] == "recorded"
            world.settle()
            # Present: nothing to close, but the sighting is remembered.
            seen = await asyncio.to_thread(one_pass, world, 0.0)
        return room_sid, participant_sid, seen

    room_sid, participant_sid, first = asyncio.run(stay())
    assert (first.open_sessions, first.missing, first.sessions_closed) == (1, 0, 0)
    sighted_by = datetime.now(UTC)

    async def gone_from_livekit() -> None:
        async with lk.LiveKitAPI("http://127.0.0.1:7880", "devkey", "secret") as api:
            request = lk.ListParticipantsRequest(room=issued["livekit_room"])

            async def listed() -> list[str]:
                return [p.sid for p in (await api.room.list_participants(request)).participants]

            async with asyncio.timeout(15):
                while participant_sid in await listed():  # noqa: ASYNC110 (polling LiveKit)
                    await asyncio.sleep(0.1)

    asyncio.run(gone_from_livekit())

    # Missing, but within the grace period: a webhook on its way could still close it.
    second = one_pass(world, 1.0)
    assert (second.missing, second.sessions_closed) == (1, 0)
    assert only_session(world, keys["a"], name)["open"] is True
    time.sleep(1.1)
    third = one_pass(world, 1.0)
    assert (third.missing, third.sessions_closed, third.rooms_closed) == (1, 1, 0)

    session = only_session(world, keys["a"], name)
    assert session["open"] is False
    assert session["closed_by"] == "reconciliation"
    assert session["close_reason"] == PARTICIPANT_GONE
    # Closed at the first pass's sighting: after the join, before the participant left.
    left_at = parse(session["left_at"])
    assert parse(session["joined_at"]) < left_at < sighted_by
    duration_ms = session["duration_ms"]
    assert duration_ms == (left_at - parse(session["joined_at"])) // timedelta(milliseconds=1)
    aggregate = world.app.load(session_id(room_sid, participant_sid), ParticipantSession)
    assert aggregate.closed_by is ClosedBy.RECONCILIATION
    last = list(world.app.events.get(aggregate.id))[-1]
    assert last.context.actor_id == "reconciliation"  # type: ignore[attr-defined]

    # LiveKit's participant_left arrives at last: it changes no figure and adds no event.
    before = last_event_id(world)
    late = participant_event(
        "participant_left",
        room_info(world.project_a, name, room_sid, joined_at),
        participant_sid,
        "carol",
        joined_at,
        datetime.now(UTC),
    )
    answer = deliver(world, late)
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "unchanged"
    assert last_event_id(world) == before
    again = only_session(world, keys["a"], name)
    assert (again["duration_ms"], again["left_at"], again["closed_by"]) == (
        duration_ms,
        session["left_at"],
        "reconciliation",
    )
    # A further pass finds nothing left to do for it.
    assert one_pass(world, 0.0).sessions_closed == 0


def test_a_room_livekit_never_had_closes_with_its_sessions(
    world: World, keys: dict[str, str]
) -> None:
    name = f"ghost-{uuid.uuid4().hex[:6]}"
    # Whole seconds: LiveKit stamps track events in seconds.
    started = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    info = room_info(world.project_a, name, f"RM_{uuid.uuid4().hex[:10]}", started)
    joined_at = started + timedelta(seconds=10)
    published = joined_at + timedelta(seconds=20)
    for event in (
        participant_event("participant_joined", info, "PA_ghost", "dave", joined_at, joined_at),
        participant_event(
            "track_published",
            info,
            "PA_ghost",
            "dave",
            joined_at,
            published,
            track=audio_track("TR_ghost"),
        ),
    ):
        assert deliver(world, event).json()["outcome"] == "recorded"
    world.settle()

    # This time through the worker's job, as its cron runs it.
    report = run_job(world, 0.0)
    # (Rooms of earlier tests that LiveKit has closed since may be closed too.)
    assert report["sessions_closed"] == 1
    assert isinstance(report["rooms_closed"], int)
    assert report["rooms_closed"] >= 1
    session = only_session(world, keys["a"], name)
    # Never seen by a pass: closed at its latest known activity, the track's publication.
    assert session["close_reason"] == ROOM_GONE
    assert parse(session["left_at"]) == published
    assert session["duration_ms"] == 20_000
    room = world.app.load(room_id(info.sid), PulseRoom)
    assert room.ended_at == published  # A room ends when its last session does.
    assert room.close_reason == ROOM_GONE


def test_a_room_ends_no_earlier_than_a_session_that_left_by_webhook(
    world: World, keys: dict[str, str]
) -> None:
    name = f"quiet-{uuid.uuid4().hex[:6]}"
    started = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    info = room_info(world.project_a, name, f"RM_{uuid.uuid4().hex[:10]}", started)
    left = started + timedelta(seconds=42)
    for event_name, at in (("participant_joined", started), ("participant_left", left)):
        event = participant_event(event_name, info, "PA_quiet", "erin", started, at)
        assert deliver(world, event).json()["outcome"] == "recorded"
    world.settle()

    report = one_pass(world, 0.0)
    assert report.sessions_closed == 0
    assert report.rooms_closed >= 1  # This one, and maybe earlier tests' rooms.
    room = world.app.load(room_id(info.sid), PulseRoom)
    # Its room_finished was lost; the participant_left proves it was live until then.
    assert room.ended_at == left
    assert room.closed_by is ClosedBy.RECONCILIATION
