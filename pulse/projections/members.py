"""``rm_members``: who belongs to which organization, with which role."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pulse.domain.member import Member
from pulse.projections.collections import MEMBERS
from pulse.projections.model import Document, Projection, event_topic
from pulse.projections.writes import change, create, text, utc


def _joined(database: Database[Document], event: Any) -> None:
    at = utc(event.timestamp)
    create(
        database[MEMBERS],
        text(event.originator_id),
        event.originator_version,
        {
            "organization_id": text(event.organization_id),
            "user_id": text(event.user_id),
            "email": event.email,
            "role": text(event.role),
            "active": True,
            "joined_at": at,
            "updated_at": at,
        },
    )


def _role_changed(database: Database[Document], event: Any) -> None:
    change(
        database[MEMBERS],
        text(event.originator_id),
        event.originator_version,
        {"role": text(event.role), "updated_at": utc(event.timestamp)},
    )


def _removed(database: Database[Document], event: Any) -> None:
    change(
        database[MEMBERS],
        text(event.originator_id),
        event.originator_version,
        {"active": False, "updated_at": utc(event.timestamp)},
    )


def _rejoined(database: Database[Document], event: Any) -> None:
    change(
        database[MEMBERS],
        text(event.originator_id),
        event.originator_version,
        {
            "active": True,
            "role": text(event.role),
            "joined_at": utc(getattr(event, "rejoined_at", None) or event.timestamp),
            "updated_at": utc(event.timestamp),
        },
    )


PROJECTION = Projection(
    name="members",
    collections=(MEMBERS,),
    handlers={
        event_topic(Member, "Joined"): _joined,
        event_topic(Member, "RoleChanged"): _role_changed,
        event_topic(Member, "Removed"): _removed,
        event_topic(Member, "Rejoined"): _rejoined,
    },
)
