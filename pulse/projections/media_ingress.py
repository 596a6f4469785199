"""``rm_ingresses``: a project's ingresses, for lists (deleted ones are kept, flagged).

Documents hold the API's ingress resource (``media_views``) with ``_id`` for ``id``,
plus ``deleted``/``deleted_at``. The stream key is in no event, so in no document.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pulse.domain.ingress import Ingress, IngressStatus
from pulse.projections.collections import INGRESSES
from pulse.projections.media_egress import changed_fields
from pulse.projections.model import Document, Projection, event_topic
from pulse.projections.writes import change, create, text, utc


def _requested(database: Database[Document], event: Any) -> None:
    create(
        database[INGRESSES],
        text(event.originator_id),
        event.originator_version,
        {
            "project_id": text(event.project_id),
            "room": event.room,
            "kind": text(event.kind),
            "name": event.name,
            "participant_identity": event.participant_identity,
            "participant_name": event.participant_name,
            "source_url": event.source_url,
            "enable_transcoding": event.enable_transcoding,
            "region": event.region,
            "status": str(IngressStatus.REQUESTED),
            "livekit_ingress_id": None,
            "livekit_status": None,
            "url": None,
            "reusable": False,
            "error": None,
            "error_code": None,
            "started_at": None,
            "ended_at": None,
            "deleted": False,
            "deleted_at": None,
            "created_at": utc(event.timestamp),
            "updated_at": utc(event.timestamp),
        },
    )


def _created(database: Database[Document], event: Any) -> None:
    change(
        database[INGRESSES],
        text(event.originator_id),
        event.originator_version,
        {
            "livekit_ingress_id": event.livekit_ingress_id,
            "url": event.url,
            "reusable": bool(event.reusable),
            **changed_fields(event.changes),
            "updated_at": utc(event.timestamp),
        },
    )


def _changed(database: Database[Document], event: Any) -> None:
    change(
        database[INGRESSES],
        text(event.originator_id),
        event.originator_version,
        {**changed_fields(event.changes), "updated_at": utc(event.timestamp)},
    )


def _deleted(database: Database[Document], event: Any) -> None:
    change(
        database[INGRESSES],
        text(event.originator_id),
        event.originator_version,
        {
            "deleted": True,
            "deleted_at": utc(event.deleted_at),
            "updated_at": utc(event.timestamp),
        },
    )


def _metered(database: Database[Document], event: Any) -> None:
    # Usage, not a visible change; only the time of the last change moves (the API's
    # view reads it from the aggregate, which the Metered event also touched).
    change(
        database[INGRESSES],
        text(event.originator_id),
        event.originator_version,
        {"updated_at": utc(event.timestamp)},
    )


PROJECTION = Projection(
    name="media_ingress",
    collections=(INGRESSES,),
    handlers={
        event_topic(Ingress, "Requested"): _requested,
        event_topic(Ingress, "Created"): _created,
        event_topic(Ingress, "CreateFailed"): _changed,
        event_topic(Ingress, "Updated"): _changed,
        event_topic(Ingress, "Metered"): _metered,
        event_topic(Ingress, "Deleted"): _deleted,
    },
)
