"""Egress: requested -> active -> ending -> complete | failed; reports never go back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.egress import (
    Egress,
    EgressKind,
    EgressStatus,
    Layout,
    Observation,
    check_request,
    empty_results,
)
from pulse.domain.errors import InvalidValueError, InvariantError
from pulse.services.application import PulseApplication

API = CommandContext(ActorKind.API_KEY, "key-1", request_id="req-1")
LIVEKIT = CommandContext(ActorKind.SYSTEM, "livekit")
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
FILE = {"filename": "recordings/r/x/recording.mp4", "size_bytes": 10}


def new_egress() -> Egress:
    return Egress(
        aggregate_id=uuid4(),
        project_id=uuid4(),
        room="show",
        kind=EgressKind.ROOM_COMPOSITE,
        layout=Layout.SPEAKER,
        audio_only=False,
        audio_track_id=None,
        video_track_id=None,
        track_id=None,
        outputs={"storage": {"public_base_url": "https://cdn.example.com"}, "file": {}},
        playback_url=None,
        region="eu-west",
        context=API,
    )


def seen(status: EgressStatus, ns: int, **changes: Any) -> Observation:
    return Observation(status=status, updated_ns=ns, changes=changes)


def test_a_started_egress_completes_with_its_recording_available() -> None:
    egress = new_egress()
    egress.record_started("EG_1", seen(EgressStatus.ACTIVE, 10, livekit_status="STARTING"), API)
    assert (egress.status, egress.livekit_egress_id) == (EgressStatus.ACTIVE, "EG_1")
    egress.record_stopping(seen(EgressStatus.ENDING, 20), API)
    assert egress.status is EgressStatus.ENDING
    results = {**empty_results(), "files": [FILE]}
    assert egress.observe(seen(EgressStatus.COMPLETE, 30, results=results, ended_at=AT), LIVEKIT)
    assert str(egress.status) == "complete"
    assert egress.recording_available
    assert egress.ended_at == AT
    assert egress.public_base_url == "https://cdn.example.com"


def test_stale_and_backward_reports_change_nothing() -> None:
    egress = new_egress()
    egress.record_started("EG_1", seen(EgressStatus.ACTIVE, 10), API)
    assert egress.observe(seen(EgressStatus.ENDING, 20), LIVEKIT)
    assert not egress.observe(seen(EgressStatus.ACTIVE, 30), LIVEKIT)  # backwards
    assert not egress.observe(seen(EgressStatus.ENDING, 15, details="old"), LIVEKIT)  # older
    assert egress.observe(seen(EgressStatus.FAILED, 40, error="boom"), LIVEKIT)
    assert not egress.observe(seen(EgressStatus.COMPLETE, 50), LIVEKIT)  # after the end
    assert (egress.status, egress.error) == (EgressStatus.FAILED, "boom")
    assert not egress.recording_available


def test_a_refused_start_is_failed_and_cannot_be_answered_or_stopped_again() -> None:
    egress = new_egress()
    with pytest.raises(InvariantError):
        egress.ensure_stoppable()  # not accepted yet
    egress.record_refused("unavailable", "no egress worker", AT, API)
    assert (egress.status, egress.error_code, egress.ended_at) == (
        EgressStatus.FAILED,
        "unavailable",
        AT,
    )
    with pytest.raises(InvariantError):
        egress.record_started("EG_1", seen(EgressStatus.ACTIVE, 1), API)
    with pytest.raises(InvariantError):
        egress.ensure_stoppable()
    assert not egress.observe(seen(EgressStatus.ACTIVE, 5), LIVEKIT)


def test_an_egress_livekit_lost_fails_once_and_only_while_running() -> None:
    reconciliation = CommandContext(ActorKind.SYSTEM, "reconciliation")
    never_accepted = new_egress()
    assert not never_accepted.record_lost(AT, "gone", reconciliation)
    assert never_accepted.status is EgressStatus.REQUESTED

    egress = new_egress()
    egress.record_started("EG_1", seen(EgressStatus.ACTIVE, 10), API)
    assert egress.record_lost(AT, "reconciliation: egress not in LiveKit", reconciliation)
    assert (egress.status, egress.error, egress.error_code, egress.ended_at) == (
        EgressStatus.FAILED,
        "reconciliation: egress not in LiveKit",
        "not_found",
        AT,
    )
    assert not egress.recording_available
    # Terminal: neither a second pass nor LiveKit's late word changes it.
    assert not egress.record_lost(AT, "again", reconciliation)
    assert not egress.observe(seen(EgressStatus.COMPLETE, 50), LIVEKIT)

    ending = new_egress()
    ending.record_started("EG_2", seen(EgressStatus.ACTIVE, 10), API)
    ending.observe(seen(EgressStatus.ENDING, 20, ended_at=AT), LIVEKIT)
    later = AT.replace(hour=9)
    assert ending.record_lost(later, "gone", reconciliation)
    assert (ending.status, ending.ended_at) == (EgressStatus.FAILED, AT)  # LiveKit's end kept


@pytest.mark.parametrize(
    ("kind", "layout", "audio", "video", "track", "outputs"),
    [
        (EgressKind.ROOM_COMPOSITE, None, None, None, None, {}),
        (EgressKind.ROOM_COMPOSITE, None, "TR_a", None, None, {"rtmp": True}),
        (EgressKind.TRACK_COMPOSITE, Layout.GRID, "TR_a", None, None, {"rtmp": True}),
        (EgressKind.TRACK_COMPOSITE, None, None, None, None, {"rtmp": True}),
        (EgressKind.TRACK, None, None, None, None, {"file": True}),
        (EgressKind.TRACK, None, None, None, "TR_a", {"hls": True}),
    ],
)
def test_requests_livekit_would_refuse_are_refused_first(
    kind: EgressKind,
    layout: Layout | None,
    audio: str | None,
    video: str | None,
    track: str | None,
    outputs: dict[str, bool],
) -> None:
    with pytest.raises(InvalidValueError):
        check_request(kind, layout, audio, video, track, outputs)


def test_events_survive_the_store() -> None:
    app = PulseApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    egress = new_egress()
    egress.record_started("EG_1", seen(EgressStatus.ACTIVE, 10, started_at=AT), API)
    results = {**empty_results(), "files": [FILE]}
    egress.observe(seen(EgressStatus.COMPLETE, 30, results=results), LIVEKIT)
    app.save(egress)
    loaded: object = app.repository.get(egress.id)
    assert isinstance(loaded, Egress)
    assert (loaded.status, loaded.started_at, loaded.results) == (
        EgressStatus.COMPLETE,
        AT,
        results,
    )
