"""``rm_egresses``: a project's egresses (recordings, live streams), for lists.

Documents hold the same fields as the API's egress resource (``media_views``), with
``_id`` for ``id``. Every event after the request carries the changed fields
(``changes``), so a change is one version-guarded ``$set`` of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from pulse.domain.egress import Egress, EgressStatus, empty_results
from pulse.projections.collections import EGRESSES
from pulse.projections.model import Document, Projection, event_topic
from pulse.projections.writes import change, create, optional_text, text, utc


def changed_fields(changes: dict[str, Any]) -> Document:
    """An event's ``changes`` as stored: times in UTC, enum values as strings."""
    fields: Document = {}
    for name, value in changes.items():
        fields[name] = utc(value) if isinstance(value, datetime) else value
    if "status" in fields:
        fields["status"] = str(fields["status"])
    return fields


def _requested(database: Database[Document], event: Any) -> None:
    create(
        database[EGRESSES],
        text(event.originator_id),
        event.originator_version,
        {
            "project_id": text(event.project_id),
            "room": event.room,
            "kind": text(event.kind),
            "layout": optional_text(event.layout),
            "audio_only": bool(event.audio_only),
            "audio_track_id": event.audio_track_id,
            "video_track_id": event.video_track_id,
            "track_id": event.track_id,
            "region": event.region,
            "status": str(EgressStatus.REQUESTED),
            "livekit_egress_id": None,
            "livekit_status": None,
            "outputs": event.outputs,
            "playback_url": event.playback_url,
            "recording_available": False,
            "results": empty_results(),
            "error": None,
            "error_code": None,
            "details": None,
            "started_at": None,
            "ended_at": None,
            "created_at": utc(event.timestamp),
            "updated_at": utc(event.timestamp),
        },
    )


def _started(database: Database[Document], event: Any) -> None:
    change(
        database[EGRESSES],
        text(event.originator_id),
        event.originator_version,
        {
            "livekit_egress_id": event.livekit_egress_id,
            **changed_fields(event.changes),
            "updated_at": utc(event.timestamp),
        },
    )


def _changed(database: Database[Document], event: Any) -> None:
    change(
        database[EGRESSES],
        text(event.originator_id),
        event.originator_version,
        {**changed_fields(event.changes), "updated_at": utc(event.timestamp)},
    )


def _metered(database: Database[Document], event: Any) -> None:
    # Usage, not a visible change; only the time of the last change moves (the API's
    # view reads it from the aggregate, which the Metered event also touched).
    change(
        database[EGRESSES],
        text(event.originator_id),
        event.originator_version,
        {"updated_at": utc(event.timestamp)},
    )


PROJECTION = Projection(
    name="media_egress",
    collections=(EGRESSES,),
    handlers={
        event_topic(Egress, "Requested"): _requested,
        event_topic(Egress, "Started"): _started,
        event_topic(Egress, "StartFailed"): _changed,
        event_topic(Egress, "StopRequested"): _changed,
        event_topic(Egress, "Updated"): _changed,
        event_topic(Egress, "Metered"): _metered,
        event_topic(Egress, "Lost"): _changed,
    },
)
