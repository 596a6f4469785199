"""Which events are usage, and how much of which meter each adds in which UTC hour.

The ONE mapping from events to usage: the ``usage`` projection (the buckets the
API, limits and invoices read) and ``pulse billing recompute`` both fold exactly
these contributions, so a replay reproduces every figure.

- ``ParticipantSession.Left``: participant milliseconds from ``joined_at`` to
  ``left_at``, split across the UTC hours the stay touched (a session still open at
  an hour boundary counts in both hours, once it has ended).
- ``Egress.Metered``: egress milliseconds from LiveKit's start to its end, split by
  hour (none if LiveKit never reported both); storage and bandwidth bytes in the
  hour the egress ended (the event's own time if LiveKit reported no end).
- ``Ingress.Metered``: ingress milliseconds of one publishing period, split by hour.
- ``ApiUsage.Counted``: API requests in the hour they were counted under.

Zero quantities are left out, so a bucket exists only where something was used.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, AggregateEvent
from eventsourcing.utils import get_topic

from pulse.domain.api_usage import ApiUsage
from pulse.domain.egress import Egress
from pulse.domain.ingress import Ingress
from pulse.domain.metering import Contribution, Meter, hour_of, split_by_hour
from pulse.domain.participant_session import ParticipantSession


def _topic(aggregate: type[Aggregate], event_name: str) -> str:
    # As ``pulse.projections.model.event_topic``, which the domain may not import.
    event_class = getattr(aggregate, event_name, None)
    if not (isinstance(event_class, type) and issubclass(event_class, AggregateEvent)):
        raise TypeError(f"{aggregate.__name__} has no event class {event_name!r}")
    return get_topic(event_class)


def _spread(project_id: Any, meter: Meter, start: datetime, end: datetime) -> list[Contribution]:
    return [
        Contribution(project_id, meter, hour, ms)
        for hour, ms in split_by_hour(start, end)
        if ms > 0
    ]


def _participant_left(event: Any) -> list[Contribution]:
    return _spread(event.project_id, Meter.PARTICIPANT_MINUTES, event.joined_at, event.left_at)


def _egress_metered(event: Any) -> list[Contribution]:
    contributions: list[Contribution] = []
    if event.started_at is not None and event.ended_at is not None:
        contributions += _spread(
            event.project_id, Meter.EGRESS_MINUTES, event.started_at, event.ended_at
        )
    hour = hour_of(event.ended_at if event.ended_at is not None else event.timestamp)
    for meter, quantity in (
        (Meter.STORAGE_GB, event.storage_bytes),
        (Meter.BANDWIDTH_GB, event.bandwidth_bytes),
    ):
        if quantity > 0:
            contributions.append(Contribution(event.project_id, meter, hour, int(quantity)))
    return contributions


def _ingress_metered(event: Any) -> list[Contribution]:
    return _spread(event.project_id, Meter.INGRESS_MINUTES, event.started_at, event.ended_at)


def _api_counted(event: Any) -> list[Contribution]:
    if event.count <= 0:
        return []
    return [Contribution(event.project_id, Meter.API_REQUESTS, hour_of(event.hour), event.count)]


_BY_TOPIC: dict[str, Callable[[Any], list[Contribution]]] = {
    _topic(ParticipantSession, "Left"): _participant_left,
    _topic(Egress, "Metered"): _egress_metered,
    _topic(Ingress, "Metered"): _ingress_metered,
    _topic(ApiUsage, "Counted"): _api_counted,
}

USAGE_TOPICS: frozenset[str] = frozenset(_BY_TOPIC)
"""The stored topics of every event that adds usage."""


def contributions_of(event: Any) -> list[Contribution]:
    """The usage ``event`` adds, by project, meter and UTC hour; [] if it adds none.

    ``event`` is a domain event (typed ``Any``: the library builds event classes at
    run time). Pure: the same event always gives the same contributions.
    """
    contribute = _BY_TOPIC.get(get_topic(type(event)))
    return [] if contribute is None else contribute(event)
