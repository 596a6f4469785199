"""What LiveKit currently says of given egresses and ingresses, region by region.

Each is asked for by its LiveKit id (``ListEgress`` / ``ListIngress`` with the id),
from the LiveKit of the region it was started in. An answer is one of three:

- its ``EgressInfo`` / ``IngressInfo``;
- *unknown*: LiveKit answered that it has no such egress or ingress (``not_found``,
  or an empty list), e.g. it expired from LiveKit's store or LiveKit lost its state;
- nothing at all, for every id of a region whose LiveKit could not answer one of
  them (unreachable, timed out, no egress service): a region that cannot be asked
  is not a region that forgot, so none of its answers is used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from livekit.api import LiveKitAPI
from livekit.protocol import egress as eg
from livekit.protocol import ingress as ig

from pulse.domain.errors import DomainError
from pulse.livekit.errors import livekit_errors
from pulse.livekit.gateway import LiveKitGateway
from pulse.services.errors import NotFoundError, ServiceError

ASK_TIMEOUT_SECONDS = 10.0
CONCURRENT_ASKS = 8
"""Per region: enough to get through a busy region within a pass, without a burst."""

Info = TypeVar("Info", eg.EgressInfo, ig.IngressInfo)
Ask = Callable[[LiveKitAPI, str], Awaitable[Info | None]]


@dataclass
class Answers(Generic[Info]):
    found: dict[str, Info] = field(default_factory=dict)
    """By LiveKit id."""
    unknown: set[str] = field(default_factory=set)
    """LiveKit ids LiveKit says it does not have."""
    unreachable: dict[str, str] = field(default_factory=dict)
    """Why, by region code, for the regions none of whose answers is used."""


async def egress_info(api: LiveKitAPI, egress_id: str) -> eg.EgressInfo | None:
    """LiveKit's current ``EgressInfo``, or None if it does not know the egress."""
    request = eg.ListEgressRequest(egress_id=egress_id)
    try:
        with livekit_errors("list the egress"):
            async with asyncio.timeout(ASK_TIMEOUT_SECONDS):
                listed = await api.egress.list_egress(request)
    except NotFoundError:
        return None
    return next((info for info in listed.items if info.egress_id == egress_id), None)


async def ingress_info(api: LiveKitAPI, ingress_id: str) -> ig.IngressInfo | None:
    """LiveKit's current ``IngressInfo``, or None if it does not know the ingress."""
    request = ig.ListIngressRequest(ingress_id=ingress_id)
    try:
        with livekit_errors("list the ingress"):
            async with asyncio.timeout(ASK_TIMEOUT_SECONDS):
                listed = await api.ingress.list_ingress(request)
    except NotFoundError:
        return None
    return next((info for info in listed.items if info.ingress_id == ingress_id), None)


async def _ask_region(
    api: LiveKitAPI, ids: Sequence[str], ask: Ask[Info]
) -> dict[str, Info | None]:
    limit = asyncio.Semaphore(CONCURRENT_ASKS)

    async def one(livekit_id: str) -> tuple[str, Info | None]:
        async with limit:
            return livekit_id, await ask(api, livekit_id)

    # A task group cancels the region's other calls at its first failure.
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(livekit_id)) for livekit_id in ids]
    return dict(task.result() for task in tasks)


async def ask_regions(
    gateway: LiveKitGateway, ids_by_region: Mapping[str, Sequence[str]], ask: Ask[Info]
) -> Answers[Info]:
    """Ask each region's LiveKit about its ids (regions concurrently); never raises for
    a LiveKit that cannot answer: its region is in ``unreachable`` instead."""
    answers: Answers[Info] = Answers()

    async def region(code: str, ids: Sequence[str]) -> None:
        try:
            api = gateway.api(code)
            got = await _ask_region(api, ids, ask)
        except NotFoundError as error:  # A region no longer configured.
            answers.unreachable[code] = str(error)
            return
        except ExceptionGroup as group:  # From the task group: LiveKit's refusals.
            refusals, others = group.split((ServiceError, DomainError))
            if others is not None or refusals is None:
                raise  # Not LiveKit's answer: a bug, for the job to report.
            answers.unreachable[code] = str(refusals.exceptions[0])
            return
        for livekit_id, info in got.items():
            if info is None:
                answers.unknown.add(livekit_id)
            else:
                answers.found[livekit_id] = info

    await asyncio.gather(*(region(code, ids) for code, ids in ids_by_region.items() if ids))
    return answers
