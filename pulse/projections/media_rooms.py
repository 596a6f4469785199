"""``rm_rooms`` and ``rm_participant_sessions``: LiveKit room instances and who was in them.

One projection owns both: a session's document never needs its room's (the session
events carry the room's id, sid and name), but one runner keeps their positions in
step, so a room and its sessions are always equally fresh.

``open`` is kept on both documents so that "what is live now" (the reconciliation,
a project's open sessions) is one equality filter. Durations are stored twice: as
whole milliseconds (exact, for sums) and as seconds (for people).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pymongo.database import Database

from pulse.domain.participant_session import ParticipantSession
from pulse.domain.room import Room
from pulse.projections.collections import PARTICIPANT_SESSIONS, ROOMS
from pulse.projections.model import Document, Projection, event_topic
from pulse.projections.writes import change, create, due, text, utc


def _room_started(database: Database[Document], event: Any) -> None:
    create(
        database[ROOMS],
        text(event.originator_id),
        event.originator_version,
        {
            "project_id": text(event.project_id),
            "name": event.name,
            "livekit_sid": event.livekit_sid,
            "started_at": utc(event.started_at),
            "ended_at": None,
            "open": True,
            "closed_by": None,
            "close_reason": None,
            "updated_at": utc(event.timestamp),
        },
    )


def _room_ended(database: Database[Document], event: Any) -> None:
    change(
        database[ROOMS],
        text(event.originator_id),
        event.originator_version,
        {
            "ended_at": utc(event.ended_at),
            "open": False,
            "closed_by": text(event.closed_by),
            "close_reason": event.reason,
            "updated_at": utc(event.timestamp),
        },
    )


def _session_joined(database: Database[Document], event: Any) -> None:
    create(
        database[PARTICIPANT_SESSIONS],
        text(event.originator_id),
        event.originator_version,
        {
            "project_id": text(event.project_id),
            "room_id": text(event.room_id),
            "room_name": event.room_name,
            "room_sid": event.room_sid,
            "participant_sid": event.participant_sid,
            "identity": event.identity,
            "name": event.name,
            "joined_at": utc(event.joined_at),
            "left_at": None,
            "open": True,
            "duration_ms": None,
            "duration_seconds": None,
            "closed_by": None,
            "close_reason": None,
            "tracks": [],
            "updated_at": utc(event.timestamp),
        },
    )


def _session_left(database: Database[Document], event: Any) -> None:
    duration = Decimal(event.duration)
    change(
        database[PARTICIPANT_SESSIONS],
        text(event.originator_id),
        event.originator_version,
        {
            "left_at": utc(event.left_at),
            "open": False,
            "duration_ms": int(duration * 1000),
            "duration_seconds": float(duration),
            "closed_by": text(event.closed_by),
            "close_reason": event.reason,
            "updated_at": utc(event.timestamp),
        },
    )


def _change_tracks(database: Database[Document], event: Any, track: Document | None) -> None:
    """Read, then a version-guarded write of the whole list (this runner alone writes it)."""
    collection = database[PARTICIPANT_SESSIONS]
    doc_id = text(event.originator_id)
    document = collection.find_one({"_id": doc_id}, {"tracks": 1, "version": 1})
    if not due(document, event.originator_version):
        return
    tracks: list[Document] = list(document["tracks"])
    if track is not None:
        tracks.append(track)
    else:
        at = utc(event.at)
        tracks = [
            {**t, "unpublished_at": at}
            if t["sid"] == event.track_sid and t["unpublished_at"] is None
            else t
            for t in tracks
        ]
    change(
        collection,
        doc_id,
        event.originator_version,
        {"tracks": tracks, "updated_at": utc(event.timestamp)},
    )


def _track_published(database: Database[Document], event: Any) -> None:
    track = {
        "sid": event.track_sid,
        "kind": event.kind,
        "source": event.source,
        "published_at": utc(event.at),
        "unpublished_at": None,
    }
    _change_tracks(database, event, track)


def _track_unpublished(database: Database[Document], event: Any) -> None:
    _change_tracks(database, event, None)


PROJECTION = Projection(
    name="media_rooms",
    collections=(ROOMS, PARTICIPANT_SESSIONS),
    handlers={
        event_topic(Room, "Started"): _room_started,
        event_topic(Room, "Ended"): _room_ended,
        event_topic(ParticipantSession, "Joined"): _session_joined,
        event_topic(ParticipantSession, "Left"): _session_left,
        event_topic(ParticipantSession, "TrackPublished"): _track_published,
        event_topic(ParticipantSession, "TrackUnpublished"): _track_unpublished,
    },
)
