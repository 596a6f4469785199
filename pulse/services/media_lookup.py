"""Finding a project's egress or ingress by Pulse's id or by LiveKit's id.

Callers may name an egress by the ``id`` Pulse gave it or by LiveKit's ``EG_...``
(an ingress: ``IN_...``); webhooks only ever name LiveKit's. Another project's
egress or ingress is "not found", exactly like one that does not exist.
"""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from pulse.domain.context import CommandContext
from pulse.domain.egress import Egress
from pulse.domain.ingress import Ingress
from pulse.domain.livekit_alias import AliasKind, LiveKitAlias, alias_id
from pulse.services.application import PulseApplication
from pulse.services.errors import NotFoundError

Media = TypeVar("Media", Egress, Ingress)

_KIND_OF: dict[type[Egress] | type[Ingress], AliasKind] = {
    Egress: AliasKind.EGRESS,
    Ingress: AliasKind.INGRESS,
}
_PREFIX_OF = {AliasKind.EGRESS: "EG_", AliasKind.INGRESS: "IN_"}
MAX_REFERENCE_LENGTH = 64


def find_by_livekit_id(app: PulseApplication, kind: type[Media], livekit_id: str) -> Media | None:
    """The aggregate LiveKit knows as ``livekit_id``, or None (not one Pulse started)."""
    try:
        alias = app.load(alias_id(_KIND_OF[kind], livekit_id), LiveKitAlias)
        return app.load(alias.target_id, kind)
    except NotFoundError:
        return None


def _find(app: PulseApplication, kind: type[Media], reference: str) -> Media | None:
    if len(reference) > MAX_REFERENCE_LENGTH:
        return None
    if reference.startswith(_PREFIX_OF[_KIND_OF[kind]]):
        return find_by_livekit_id(app, kind, reference)
    try:
        aggregate_id = UUID(reference)
    except ValueError:
        return None
    try:
        return app.load(aggregate_id, kind)
    except NotFoundError:
        return None


def load_owned(app: PulseApplication, kind: type[Media], project_id: UUID, reference: str) -> Media:
    """The project's egress or ingress named by ``reference``; NotFoundError otherwise."""
    found = _find(app, kind, reference)
    if found is None or found.project_id != project_id:
        raise NotFoundError(f"{kind.__name__} {reference}")
    return found


def new_alias(livekit_id: str, target: Egress | Ingress, context: CommandContext) -> LiveKitAlias:
    """The alias tying LiveKit's id to ``target``; save it with LiveKit's answer."""
    return LiveKitAlias(
        kind=_KIND_OF[type(target)],
        livekit_id=livekit_id,
        target_id=target.id,
        project_id=target.project_id,
        context=context,
    )
