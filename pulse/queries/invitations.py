"""Invitations of one organization (``rm_invitations``)."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from pulse.domain.invitation import InvitationStatus
from pulse.projections.collections import INVITATIONS
from pulse.queries.pagination import DEFAULT_LIMIT, Document, InvalidQueryError, Page, paginate


async def list_invitations(
    db: AsyncDatabase[Document],
    organization_id: str,
    *,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Invitations of one organization, oldest first.

    ``status`` is what happened to them (pending, accepted, revoked); a pending one
    past ``expires_at`` is still ``pending`` here, judged by the caller's clock.
    """
    query: Document = {"organization_id": str(organization_id)}
    if status is not None:
        try:
            query["status"] = str(InvitationStatus(status))
        except ValueError:
            known = ", ".join(InvitationStatus)
            raise InvalidQueryError(f"status must be one of {known}") from None
    return await paginate(db[INVITATIONS], query, limit=limit, cursor=cursor)
