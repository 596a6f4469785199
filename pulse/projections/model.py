"""What a projection is: a name, the collections it owns, a handler per event topic."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import Aggregate, AggregateEvent
from eventsourcing.utils import get_topic
from pymongo.database import Database

Document = dict[str, Any]

Handler = Callable[[Database[Document], Any], None]
"""Applies one domain event to the read model; must be idempotent (see ``writes``).

The event is typed ``Any``: the library builds event classes at run time, so their
attributes are unknown to the type checker.
"""


def event_topic(aggregate: type[Aggregate], event_name: str) -> str:
    """The stored topic of ``aggregate.<event_name>``; fails at import if it is gone.

    Handlers are keyed by topic so that the runner can skip events it has no
    handler for without decoding them (their class may not even exist here).
    """
    event_class = getattr(aggregate, event_name, None)
    if not (isinstance(event_class, type) and issubclass(event_class, AggregateEvent)):
        raise TypeError(f"{aggregate.__name__} has no event class {event_name!r}")
    return get_topic(event_class)


@dataclass(frozen=True)
class Projection:
    name: str
    """Also the tracking record's application name and the lock's key."""

    collections: tuple[str, ...]
    """The read-model collections it alone writes; a rebuild empties them."""

    handlers: Mapping[str, Handler] = field(default_factory=dict)
    """By event topic (``event_topic``); events of other topics are skipped."""

    def handler_for(self, topic: str) -> Handler | None:
        return self.handlers.get(topic)
