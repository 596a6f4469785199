"""Moderation commands and the ban check that token minting and the webhooks use."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pulse.domain.context import CommandContext
from pulse.domain.moderation import RoomModeration, moderation_id
from pulse.services.application import PulseApplication
from pulse.services.clock import utc_now
from pulse.services.errors import NotFoundError
from pulse.services.retries import retry_on_conflict


def moderation_of(
    app: PulseApplication, project_id: UUID, room: str, context: CommandContext
) -> RoomModeration:
    """The room's moderation record, opened (unsaved) if it has none yet."""
    try:
        return app.load(moderation_id(project_id, room), RoomModeration)
    except NotFoundError:
        return RoomModeration(project_id=project_id, room=room, context=context)


def banned_until(
    app: PulseApplication, project_id: UUID, room: str, identity: str, now: datetime | None = None
) -> datetime | None:
    """Until when ``identity`` is banned from the room, or None if it is not."""
    try:
        moderation = app.load(moderation_id(project_id, room), RoomModeration)
    except NotFoundError:
        return None
    return moderation.banned_until(identity, now or utc_now())


def ban(
    app: PulseApplication,
    project_id: UUID,
    room: str,
    identity: str,
    until: datetime,
    reason: str,
    context: CommandContext,
) -> RoomModeration:
    def command() -> RoomModeration:
        moderation = moderation_of(app, project_id, room, context)
        moderation.ban(identity, until, utc_now(), reason, context)
        app.save(moderation)
        return moderation

    return retry_on_conflict(command)


def lift_ban(
    app: PulseApplication, project_id: UUID, room: str, identity: str, context: CommandContext
) -> RoomModeration:
    def command() -> RoomModeration:
        moderation = app.load(moderation_id(project_id, room), RoomModeration)
        moderation.lift_ban(identity, utc_now(), context)
        app.save(moderation)
        return moderation

    return retry_on_conflict(command)
