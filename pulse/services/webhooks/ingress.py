"""Webhook handlers for LiveKit's ingress events: ``ingress_started`` (someone began
publishing) and ``ingress_ended`` (the stream stopped: inactive again, complete, or
in error).

As for egress, the ingress is found through its alias and a stale report (older
``state.updated_at``) or a redelivery changes nothing; deleted ingresses and ones
Pulse did not create are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.domain import Aggregate

from pulse.domain.context import CommandContext
from pulse.domain.ingress import Ingress
from pulse.services.application import PulseApplication
from pulse.services.ingress_info import ingress_observation_of
from pulse.services.media_lookup import find_by_livekit_id
from pulse.services.webhooks.model import Delivery, Handler


def ingress_report(
    app: PulseApplication, delivery: Delivery, context: CommandContext
) -> Sequence[Aggregate]:
    event = delivery.event
    if not event.HasField("ingress_info") or not event.ingress_info.ingress_id:
        return []
    info = event.ingress_info
    ingress = find_by_livekit_id(app, Ingress, info.ingress_id)
    if ingress is None or ingress.project_id != delivery.project_id:
        return []
    ingress.observe(ingress_observation_of(info), context)
    return [ingress]


HANDLERS: dict[str, Handler] = {
    "ingress_started": ingress_report,
    "ingress_ended": ingress_report,
}
