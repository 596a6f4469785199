"""Invitations of one organization (``rm_invitations``)."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from pulse.domain.invitation import InvitationStatus
from pulse.projections.collections import INVITATIONS
from pulse.queries.pagination import DEFAULT_LIMIT, Document, InvalidQueryError, Page, paginate

EXPIRED = "expired"


async def list_invitations(
    db: AsyncDatabase[Document],
    organization_id: str,
    *,
    status: str | None = None,
    now: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Invitations of one organization, oldest first.

    ``status`` is pending, accepted, revoked, or expired: the read model keeps an
    unanswered invitation as pending, so "pending" means not yet expired at ``now``
    and "expired" means pending but past ``expires_at``.
    """
    now = now or datetime.now(UTC)
    query: Document = {"organization_id": str(organization_id)}
    if status == EXPIRED:
        query["status"] = str(InvitationStatus.PENDING)
        query["expires_at"] = {"$lte": now}
    elif status is not None:
        try:
            query["status"] = str(InvitationStatus(status))
        except ValueError:
            known = ", ".join([*InvitationStatus, EXPIRED])
            raise InvalidQueryError(f"status must be one of {known}") from None
        if query["status"] == InvitationStatus.PENDING:
            query["expires_at"] = {"$gt": now}
    return await paginate(db[INVITATIONS], query, limit=limit, cursor=cursor)
