"""Room names on the shared LiveKit cluster, namespaced per project.

A customer names rooms freely within its project ("standup"); on LiveKit the room is
``<project id hex>_<name>``. Tokens, room calls and webhooks all go through these two
functions, so no token of one project can name a room of another, and a webhook's
room tells which project it belongs to.
"""

from __future__ import annotations

import re
from uuid import UUID

from pulse.domain.errors import InvalidValueError

ROOM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:=-]{0,99}$")
_PREFIX = 32  # A UUID's hex.


def check_room_name(name: str) -> str:
    if not ROOM_NAME.match(name):
        msg = "A room name is 1 to 100 letters, digits or _.:=- and starts with a letter or digit"
        raise InvalidValueError(msg)
    return name


def livekit_room(project_id: UUID, name: str) -> str:
    return f"{project_id.hex}_{check_room_name(name)}"


def split_livekit_room(livekit_name: str) -> tuple[UUID, str] | None:
    """The project and the customer's room name, or None if not one of Pulse's rooms."""
    prefix, separator, name = (
        livekit_name[:_PREFIX],
        livekit_name[_PREFIX : _PREFIX + 1],
        livekit_name[_PREFIX + 1 :],
    )
    if separator != "_" or not name:
        return None
    try:
        project_id = UUID(hex=prefix)
    except ValueError:
        return None
    if project_id.hex != prefix or not ROOM_NAME.match(name):
        return None
    return project_id, name
