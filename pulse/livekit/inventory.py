"""What LiveKit has live right now: rooms of every deployment, participants of some.

Regions that share one deployment (the default: every region on the one local
LiveKit) are listed once. An inventory is only ever *complete*: if any deployment
cannot be listed the whole call fails (``MediaUnavailableError``), because a room
missing from a partial list is not a room that ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from livekit import api as lk

from pulse.livekit.errors import livekit_errors
from pulse.livekit.gateway import LiveKitGateway
from pulse.services.clock import utc_now
from pulse.services.errors import NotFoundError

LIST_TIMEOUT_SECONDS = 10.0
CONCURRENT_LISTINGS = 8


@dataclass(frozen=True)
class LiveRoom:
    sid: str
    livekit_name: str
    region_code: str
    """A region served by the deployment that has the room (to list its participants)."""


@dataclass
class Inventory:
    listed_at: datetime
    """Taken before the first listing: everything listed was present at this moment."""
    rooms: dict[str, LiveRoom] = field(default_factory=dict)
    """By room sid."""
    participants: dict[str, set[str]] = field(default_factory=dict)
    """Participant sids by room sid, for the rooms whose participants were asked for."""


def deployments(gateway: LiveKitGateway) -> dict[tuple[str, str], str]:
    """One region code per distinct deployment (URL and API key)."""
    found: dict[tuple[str, str], str] = {}
    for code, region in gateway.regions.items():
        found.setdefault((region.endpoint.url, region.endpoint.api_key), code)
    return found


async def _rooms_of(gateway: LiveKitGateway, code: str) -> list[LiveRoom]:
    with livekit_errors("list rooms"):
        async with asyncio.timeout(LIST_TIMEOUT_SECONDS):
            listed = await gateway.api(code).room.list_rooms(lk.ListRoomsRequest())
    return [LiveRoom(room.sid, room.name, code) for room in listed.rooms]


async def _participants_of(gateway: LiveKitGateway, room: LiveRoom) -> set[str]:
    request = lk.ListParticipantsRequest(room=room.livekit_name)
    try:
        with livekit_errors(f"list the participants of {room.livekit_name}"):
            async with asyncio.timeout(LIST_TIMEOUT_SECONDS):
                listed = await gateway.api(room.region_code).room.list_participants(request)
    except NotFoundError:
        return set()  # The room ended between the two listings: nobody is in it.
    return {participant.sid for participant in listed.participants}


async def take_inventory(gateway: LiveKitGateway, rooms_of_interest: Collection[str]) -> Inventory:
    """Every live room, and the participants of the live ones among ``rooms_of_interest``
    (room sids): listing the participants of rooms Pulse does not track would be wasted."""
    inventory = Inventory(listed_at=utc_now())
    for rooms in await asyncio.gather(
        *(_rooms_of(gateway, code) for code in deployments(gateway).values())
    ):
        for room in rooms:
            inventory.rooms.setdefault(room.sid, room)
    wanted = [inventory.rooms[sid] for sid in rooms_of_interest if sid in inventory.rooms]
    limit = asyncio.Semaphore(CONCURRENT_LISTINGS)

    async def participants(room: LiveRoom) -> tuple[str, set[str]]:
        async with limit:
            return room.sid, await _participants_of(gateway, room)

    inventory.participants = dict(await asyncio.gather(*(participants(r) for r in wanted)))
    return inventory
