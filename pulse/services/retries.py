"""Re-running a command that lost an optimistic-concurrency race."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

from pulse.services.errors import ConflictError

T = TypeVar("T")

ATTEMPTS = 8
_FIRST_PAUSE = 0.005
_LONGEST_PAUSE = 0.2


def retry_on_conflict(command: Callable[[], T]) -> T:
    """Run ``command``; if its save collided with a concurrent one, load and try again.

    The command re-reads its aggregates on every attempt, so a later run decides on the
    state the winner left (e.g. the last Owner is no longer demotable). Pauses grow
    and are jittered so that writers contending for one aggregate (projects being
    created in one organization) spread out instead of colliding again in step.
    """
    pause = _FIRST_PAUSE
    for _ in range(ATTEMPTS - 1):
        try:
            return command()
        except IntegrityError:
            time.sleep(random.uniform(0, pause))  # noqa: S311 (jitter, not security)
            pause = min(pause * 2, _LONGEST_PAUSE)
    try:
        return command()
    except IntegrityError as error:
        raise ConflictError("The resource changed concurrently; try again") from error
