"""Webhook handlers for LiveKit's egress events: ``egress_started``, ``egress_updated``
and ``egress_ended`` (complete or failed, with the files and HLS playlists written).

Each carries LiveKit's whole ``EgressInfo``; the egress is found through its alias
(``LiveKitAlias``) and the report applied unless it is stale (see ``domain.egress``),
so a redelivered or late webhook changes nothing. An egress Pulse did not start (no
alias, or another project's) is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.domain import Aggregate

from pulse.domain.context import CommandContext
from pulse.domain.egress import Egress
from pulse.services.application import PulseApplication
from pulse.services.egress_info import observation_of
from pulse.services.media_lookup import find_by_livekit_id
from pulse.services.webhooks.model import Delivery, Handler


def egress_report(
    app: PulseApplication, delivery: Delivery, context: CommandContext
) -> Sequence[Aggregate]:
    event = delivery.event
    if not event.HasField("egress_info") or not event.egress_info.egress_id:
        return []
    info = event.egress_info
    egress = find_by_livekit_id(app, Egress, info.egress_id)
    if egress is None or egress.project_id != delivery.project_id:
        return []
    egress.observe(observation_of(info, egress.public_base_url), context)
    return [egress]


HANDLERS: dict[str, Handler] = {
    "egress_started": egress_report,
    "egress_updated": egress_report,
    "egress_ended": egress_report,
}
