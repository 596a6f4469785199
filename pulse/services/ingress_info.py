"""LiveKit's ``IngressInfo`` (an answer or a webhook's payload) as an observation.

The stream key in ``IngressInfo`` is deliberately not read here: it is handed to
the caller once by the creation command and never recorded (see ``domain.ingress``).
"""

from __future__ import annotations

from livekit.protocol import ingress as proto

from pulse.domain.ingress import IngressObservation, IngressStatus
from pulse.services.egress_info import at

_STATUS = {
    proto.IngressState.Status.ENDPOINT_INACTIVE: IngressStatus.INACTIVE,
    proto.IngressState.Status.ENDPOINT_BUFFERING: IngressStatus.BUFFERING,
    proto.IngressState.Status.ENDPOINT_PUBLISHING: IngressStatus.PUBLISHING,
    proto.IngressState.Status.ENDPOINT_ERROR: IngressStatus.ERROR,
    proto.IngressState.Status.ENDPOINT_COMPLETE: IngressStatus.COMPLETE,
}


def ingress_observation_of(info: proto.IngressInfo) -> IngressObservation:
    state = info.state
    return IngressObservation(
        status=_STATUS.get(state.status, IngressStatus.INACTIVE),
        updated_ns=int(state.updated_at),
        changes={
            "livekit_status": proto.IngressState.Status.Name(state.status),
            "error": state.error or None,
            # Per publishing session: a reusable ingress starts again with no end.
            "started_at": at(state.started_at),
            "ended_at": at(state.ended_at),
        },
    )
