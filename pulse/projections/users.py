"""``rm_users``: who a user id is (email, name), for lists that show people."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pulse.domain.user import User, normalize_email
from pulse.projections.collections import USERS
from pulse.projections.model import Document, Projection, event_topic
from pulse.projections.writes import create, text, utc


def _registered(database: Database[Document], event: Any) -> None:
    create(
        database[USERS],
        text(event.originator_id),
        event.originator_version,
        {
            "email": normalize_email(event.email),
            "name": event.name,
            "created_at": utc(event.timestamp),
        },
    )


PROJECTION = Projection(
    name="users",
    collections=(USERS,),
    handlers={event_topic(User, "Registered"): _registered},
)
