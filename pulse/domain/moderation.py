"""Control of a room through the API: created, deleted, who was removed, muted or
banned, by whom, until when.

One aggregate per (project, room name), so that a ban outlives the LiveKit room
instances that come and go under that name.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext
from pulse.domain.errors import InvalidValueError

_MODERATION_NAMESPACE = UUID("0b6c2f9e-5d1a-4c3e-8f7a-2e9d4b1c6a30")


def moderation_id(project_id: UUID, room: str) -> UUID:
    return uuid5(_MODERATION_NAMESPACE, f"{project_id}:{room}")


class RoomModeration(Aggregate):
    @staticmethod
    def create_id(project_id: UUID, room: str) -> UUID:
        return moderation_id(project_id, room)

    @event("Opened")
    def __init__(self, project_id: UUID, room: str, context: CommandContext) -> None:
        self.project_id = project_id
        self.room = room
        self.bans: dict[str, datetime] = {}

    def banned_until(self, identity: str, now: datetime) -> datetime | None:
        until = self.bans.get(identity)
        return until if until is not None and now < until else None

    def ban(
        self, identity: str, until: datetime, now: datetime, reason: str, context: CommandContext
    ) -> None:
        if until <= now:
            raise InvalidValueError("A ban must end in the future")
        self._banned(identity=identity, until=until, reason=reason, context=context)

    @event("IdentityBanned")
    def _banned(self, identity: str, until: datetime, reason: str, context: CommandContext) -> None:
        self.bans[identity] = until

    def lift_ban(self, identity: str, now: datetime, context: CommandContext) -> None:
        if self.banned_until(identity, now) is None:
            raise InvalidValueError(f"'{identity}' is not banned from this room")
        self._ban_lifted(identity=identity, context=context)

    @event("BanLifted")
    def _ban_lifted(self, identity: str, context: CommandContext) -> None:
        self.bans.pop(identity, None)

    def record_removal(self, identity: str, context: CommandContext) -> None:
        self._participant_removed(identity=identity, context=context)

    @event("ParticipantRemoved")
    def _participant_removed(self, identity: str, context: CommandContext) -> None:
        pass

    def record_mute(
        self, identity: str, track_sid: str, muted: bool, context: CommandContext
    ) -> None:
        self._track_muted(identity=identity, track_sid=track_sid, muted=muted, context=context)

    @event("TrackMuted")
    def _track_muted(
        self, identity: str, track_sid: str, muted: bool, context: CommandContext
    ) -> None:
        pass

    def record_created(self, settings: dict[str, int | str], context: CommandContext) -> None:
        self._created_by_api(settings=settings, context=context)

    @event("CreatedByApi")
    def _created_by_api(self, settings: dict[str, int | str], context: CommandContext) -> None:
        pass

    def record_deleted(self, context: CommandContext) -> None:
        self._deleted_by_api(context=context)

    @event("DeletedByApi")
    def _deleted_by_api(self, context: CommandContext) -> None:
        pass
