"""``rm_invitations``: invitations of an organization and what became of them.

``status`` is what happened (pending, accepted, revoked); whether a pending one has
expired depends on the time of reading, so readers compare ``expires_at`` themselves.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pulse.domain.invitation import Invitation, InvitationStatus
from pulse.domain.user import normalize_email
from pulse.projections.collections import INVITATIONS
from pulse.projections.model import Document, Projection, event_topic
from pulse.projections.writes import change, create, text, utc


def _sent(database: Database[Document], event: Any) -> None:
    at = utc(event.timestamp)
    create(
        database[INVITATIONS],
        text(event.originator_id),
        event.originator_version,
        {
            "organization_id": text(event.organization_id),
            "email": normalize_email(event.email),
            "role": text(event.role),
            "status": str(InvitationStatus.PENDING),
            "expires_at": utc(event.expires_at),
            "created_at": at,
            "invited_by": {
                "actor_kind": text(event.context.actor_kind),
                "actor_id": event.context.actor_id,
            },
            "accepted_by": None,
            "updated_at": at,
        },
    )


def _accepted(database: Database[Document], event: Any) -> None:
    change(
        database[INVITATIONS],
        text(event.originator_id),
        event.originator_version,
        {
            "status": str(InvitationStatus.ACCEPTED),
            "accepted_by": text(event.user_id),
            "updated_at": utc(event.timestamp),
        },
    )


def _revoked(database: Database[Document], event: Any) -> None:
    change(
        database[INVITATIONS],
        text(event.originator_id),
        event.originator_version,
        {"status": str(InvitationStatus.REVOKED), "updated_at": utc(event.timestamp)},
    )


PROJECTION = Projection(
    name="invitations",
    collections=(INVITATIONS,),
    handlers={
        event_topic(Invitation, "Sent"): _sent,
        event_topic(Invitation, "Accepted"): _accepted,
        event_topic(Invitation, "Revoked"): _revoked,
    },
)
