"""Room: one LiveKit room instance; its id from LiveKit's sid, its end recorded once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.room import ClosedBy, Room, room_id
from pulse.services.application import PulseApplication

LIVEKIT = CommandContext(ActorKind.SYSTEM, "livekit", request_id="req-1")
START = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)


def new_room(sid: str = "RM_abc") -> Room:
    return Room(
        project_id=uuid4(), name="standup", livekit_sid=sid, started_at=START, context=LIVEKIT
    )


def test_the_id_is_derived_from_the_livekit_sid() -> None:
    room = new_room("RM_one")
    assert room.id == room_id("RM_one") == Room.create_id("RM_one")
    assert room_id("RM_one") != room_id("RM_two")
    assert room.is_open
    assert room.ended_at is None


def test_the_first_end_wins_and_a_second_records_nothing() -> None:
    room = new_room()
    end = START + timedelta(minutes=3)
    assert room.end(end, ClosedBy.RECONCILIATION, "reconciliation: room not in LiveKit", LIVEKIT)
    assert not room.end(end + timedelta(seconds=5), ClosedBy.WEBHOOK, "room_finished", LIVEKIT)
    assert room.ended_at == end
    assert room.closed_by is ClosedBy.RECONCILIATION
    assert room.close_reason == "reconciliation: room not in LiveKit"
    assert [type(e).__name__ for e in room.collect_events()] == ["Started", "Ended"]


def test_an_end_before_the_start_is_taken_as_the_start() -> None:
    room = new_room()
    room.end(START - timedelta(seconds=2), ClosedBy.WEBHOOK, "room_finished", LIVEKIT)
    assert room.ended_at == START


def test_events_carry_the_context_and_survive_the_store() -> None:
    app = PulseApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    room = new_room()
    room.end(START + timedelta(seconds=1), ClosedBy.WEBHOOK, "room_finished", LIVEKIT)
    app.save(room)
    loaded: object = app.repository.get(room.id)
    assert isinstance(loaded, Room)
    assert (loaded.ended_at, loaded.closed_by) == (START + timedelta(seconds=1), ClosedBy.WEBHOOK)
    events = list(app.events.get(room.id))
    assert [e.context for e in events] == [LIVEKIT, LIVEKIT]  # type: ignore[attr-defined]
