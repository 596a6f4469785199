"""Removing a banned identity the moment LiveKit reports that it joined.

A ban cannot recall tokens already handed out: a token minted before the ban still
lets its holder into the room. So every ``participant_joined`` is checked against
the room's bans, and a banned participant is removed from LiveKit at once, by the
deployment that reported it; the removal is recorded on the room's moderation.
"""

from __future__ import annotations

import asyncio

from livekit import api as lk

from pulse.domain.context import CommandContext
from pulse.livekit.errors import livekit_errors
from pulse.livekit.gateway import LiveKitGateway
from pulse.logging import get_logger
from pulse.services.application import PulseApplication
from pulse.services.errors import NotFoundError
from pulse.services.moderation import banned_until, moderation_of
from pulse.services.retries import retry_on_conflict
from pulse.services.webhooks.model import Delivery

log = get_logger(__name__)

JOINED = "participant_joined"


def _record_removal(
    app: PulseApplication, delivery: Delivery, identity: str, context: CommandContext
) -> None:
    def command() -> None:
        moderation = moderation_of(app, delivery.project_id, delivery.room, context)
        moderation.record_removal(identity, context)
        app.save(moderation)

    retry_on_conflict(command)


async def enforce_ban(
    app: PulseApplication,
    gateway: LiveKitGateway,
    region_code: str,
    delivery: Delivery,
    context: CommandContext,
) -> bool:
    """Remove the joined participant if banned from the room; True if it was removed.

    Raises ``MediaUnavailableError`` if LiveKit cannot be reached: the webhook then
    fails, LiveKit delivers it again, and the check runs again.
    """
    event = delivery.event
    if event.event != JOINED or not event.participant.identity:
        return False
    identity = event.participant.identity
    until = await asyncio.to_thread(banned_until, app, delivery.project_id, delivery.room, identity)
    if until is None:
        return False
    request = lk.RoomParticipantIdentity(room=event.room.name, identity=identity)
    try:
        with livekit_errors(f"remove {identity} from room {delivery.room}"):
            await gateway.api(region_code).room.remove_participant(request)
    except NotFoundError:
        return False  # Gone already (a redelivery, or it left at once).
    await asyncio.to_thread(_record_removal, app, delivery, identity, context)
    log.info(
        "banned_participant_removed",
        project_id=str(delivery.project_id),
        room=delivery.room,
        identity=identity,
        banned_until=until.isoformat(),
    )
    return True
