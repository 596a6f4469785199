"""ParticipantSession: one stay in one room instance, its duration exact and final."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.participant_session import ParticipantSession, elapsed_seconds, session_id
from pulse.domain.room import ClosedBy, room_id
from pulse.services.application import PulseApplication

LIVEKIT = CommandContext(ActorKind.SYSTEM, "livekit", request_id="req-9")
JOINED = datetime(2026, 1, 2, 3, 4, 5, 100_000, tzinfo=UTC)


def new_session(participant_sid: str = "PA_1") -> ParticipantSession:
    return ParticipantSession(
        project_id=uuid4(),
        room_id=room_id("RM_1"),
        room_name="standup",
        room_sid="RM_1",
        participant_sid=participant_sid,
        identity="alice",
        name="Alice",
        joined_at=JOINED,
        context=LIVEKIT,
    )


def test_the_id_is_derived_from_room_and_participant_sids() -> None:
    session = new_session()
    assert session.id == session_id("RM_1", "PA_1") == ParticipantSession.create_id("RM_1", "PA_1")
    assert session_id("RM_1", "PA_1") != session_id("RM_2", "PA_1")
    assert session.is_open
    assert session.duration is None


def test_the_duration_is_exact_milliseconds_as_decimal_seconds() -> None:
    session = new_session()
    assert session.leave(
        JOINED + timedelta(seconds=61, milliseconds=234, microseconds=999),
        ClosedBy.WEBHOOK,
        "participant_left (client_initiated)",
        LIVEKIT,
    )
    assert session.duration == Decimal("61.234")
    assert session.closed_by is ClosedBy.WEBHOOK
    assert session.close_reason == "participant_left (client_initiated)"
    assert elapsed_seconds(JOINED, JOINED + timedelta(microseconds=999)) == Decimal(0)


def test_a_late_leave_after_reconciliation_changes_nothing() -> None:
    session = new_session()
    end = JOINED + timedelta(seconds=10)
    assert session.leave(end, ClosedBy.RECONCILIATION, "reconciliation: gone", LIVEKIT)
    session.collect_events()
    assert not session.leave(end + timedelta(seconds=30), ClosedBy.WEBHOOK, "late", LIVEKIT)
    assert session.collect_events() == []
    assert (session.left_at, session.duration) == (end, Decimal(10))
    assert session.closed_by is ClosedBy.RECONCILIATION


def test_a_leave_before_the_join_is_a_zero_length_stay() -> None:
    session = new_session()
    session.leave(JOINED - timedelta(seconds=1), ClosedBy.WEBHOOK, "participant_left", LIVEKIT)
    assert session.left_at == JOINED
    assert session.duration == Decimal(0)


def test_tracks_are_published_once_and_cleared_on_leave() -> None:
    session = new_session()
    at = JOINED + timedelta(seconds=1)
    assert session.publish_track("TR_a", "audio", "microphone", at, LIVEKIT)
    assert not session.publish_track("TR_a", "audio", "microphone", at, LIVEKIT)
    assert not session.unpublish_track("TR_unknown", at, LIVEKIT)
    assert session.published_tracks == {"TR_a": "audio"}
    assert session.unpublish_track("TR_a", at, LIVEKIT)
    assert not session.unpublish_track("TR_a", at, LIVEKIT)
    session.publish_track("TR_b", "video", "camera", at, LIVEKIT)
    session.leave(at, ClosedBy.WEBHOOK, "participant_left", LIVEKIT)
    assert session.published_tracks == {}
    assert not session.publish_track("TR_c", "audio", "microphone", at, LIVEKIT)


def test_events_round_trip_with_their_context_and_decimal_duration() -> None:
    app = PulseApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    session = new_session()
    session.publish_track("TR_a", "audio", "microphone", JOINED, LIVEKIT)
    session.leave(JOINED + timedelta(milliseconds=1500), ClosedBy.WEBHOOK, "left", LIVEKIT)
    app.save(session)
    loaded: object = app.repository.get(session.id)
    assert isinstance(loaded, ParticipantSession)
    assert loaded.duration == Decimal("1.5")
    assert loaded.left_at == JOINED + timedelta(milliseconds=1500)
    events = list(app.events.get(session.id))
    assert [type(e).__name__ for e in events] == ["Joined", "TrackPublished", "Left"]
    assert all(e.context == LIVEKIT for e in events)  # type: ignore[attr-defined]
