"""Re-running a command that lost an optimistic-concurrency race."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

from pulse.services.errors import ConflictError

T = TypeVar("T")

ATTEMPTS = 3


def retry_on_conflict(command: Callable[[], T]) -> T:
    """Run ``command``; if its save collided with a concurrent one, load and try again.

    The command re-reads its aggregates on every attempt, so the second run decides
    on the state the winner left (e.g. the last Owner is no longer demotable).
    """
    for _ in range(ATTEMPTS - 1):
        try:
            return command()
        except IntegrityError:
            continue
    try:
        return command()
    except IntegrityError as error:
        raise ConflictError("The resource changed concurrently; try again") from error
