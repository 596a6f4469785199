"""What a projection is: a name, the collections it owns, a handler per event topic."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

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


class PageWriter(Protocol):
    """Applies a page of events at once: a batched projection's alternative to handlers.

    Read models that only ever insert, or add up counters, replay millions of events
    (audits, billing recomputation); one round trip per event would make that take
    hours on FerretDB. The runner hands every event of the writer's topics to
    ``apply`` in notification order, then calls ``flush`` at the end of the page,
    before it records the position. A crash after part of a flush replays from the
    recorded position, possibly with other page boundaries, so ``flush`` must be
    idempotent per document: inserts under deterministic ids, or counters that
    remember the last notification id folded into them.
    """

    def apply(self, notification_id: int, event: Any) -> None: ...

    def flush(self) -> None: ...


WriterFactory = Callable[[Database[Document]], PageWriter]


@dataclass(frozen=True)
class Projection:
    name: str
    """Also the tracking record's application name and the lock's key."""

    collections: tuple[str, ...]
    """The read-model collections it alone writes; a rebuild empties them."""

    handlers: Mapping[str, Handler] = field(default_factory=dict)
    """By event topic (``event_topic``); events of other topics are skipped."""

    writer: WriterFactory | None = None
    """A batched projection's writer, made once per run (it may keep caches)."""

    writer_topics: frozenset[str] | Callable[[str], bool] | None = None
    """The topics the writer is given: a set, a test of the stored topic (so that the
    audit log, which takes nearly everything, skips the rest undecoded), or ``None``
    for every topic."""

    def handler_for(self, topic: str) -> Handler | None:
        return self.handlers.get(topic)

    def writes_topic(self, topic: str) -> bool:
        if self.writer is None or self.writer_topics is None:
            return self.writer is not None
        if callable(self.writer_topics):
            return self.writer_topics(topic)
        return topic in self.writer_topics
