"""Ingress: requested -> inactive <-> publishing ... ; failed when refused; deleted once."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.errors import DeletedError, InvalidValueError, InvariantError
from pulse.domain.ingress import (
    Ingress,
    IngressKind,
    IngressObservation,
    IngressStatus,
    check_request,
)
from pulse.services.application import PulseApplication

API = CommandContext(ActorKind.API_KEY, "key-1")
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def new_ingress(kind: IngressKind = IngressKind.RTMP) -> Ingress:
    return Ingress(
        aggregate_id=uuid4(),
        project_id=uuid4(),
        room="stage",
        kind=kind,
        name="OBS",
        participant_identity="obs",
        participant_name=None,
        source_url=None,
        enable_transcoding=None,
        region="eu-west",
        context=API,
    )


def seen(status: IngressStatus, ns: int) -> IngressObservation:
    return IngressObservation(status=status, updated_ns=ns, changes={"livekit_status": str(ns)})


def test_created_published_and_inactive_again() -> None:
    ingress = new_ingress()
    ingress.record_created("IN_1", "rtmp://x/live", True, seen(IngressStatus.INACTIVE, 1), API)
    assert (ingress.status, ingress.url, ingress.reusable) == (
        IngressStatus.INACTIVE,
        "rtmp://x/live",
        True,
    )
    assert ingress.observe(seen(IngressStatus.PUBLISHING, 5), API)
    assert not ingress.observe(seen(IngressStatus.BUFFERING, 3), API)  # older report
    assert ingress.observe(seen(IngressStatus.INACTIVE, 9), API)
    assert ingress.status is IngressStatus.INACTIVE
    with pytest.raises(InvariantError):
        ingress.record_created("IN_2", None, False, seen(IngressStatus.INACTIVE, 10), API)


def test_refused_then_deleted_once() -> None:
    ingress = new_ingress()
    ingress.record_refused("internal", "ingress not connected", API)
    assert ingress.status is IngressStatus.FAILED
    assert not ingress.observe(seen(IngressStatus.PUBLISHING, 5), API)
    ingress.delete(AT, API)
    with pytest.raises(DeletedError):
        ingress.delete(AT, API)
    assert ingress.is_deleted


@pytest.mark.parametrize(
    ("kind", "url"),
    [(IngressKind.URL, None), (IngressKind.RTMP, "https://x"), (IngressKind.WHIP, "https://x")],
)
def test_only_url_ingresses_take_a_url(kind: IngressKind, url: str | None) -> None:
    with pytest.raises(InvalidValueError):
        check_request(kind, url)


def test_events_survive_the_store() -> None:
    app = PulseApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    ingress = new_ingress()
    ingress.record_created("IN_1", None, False, seen(IngressStatus.INACTIVE, 1), API)
    ingress.delete(AT, API)
    app.save(ingress)
    loaded: object = app.repository.get(ingress.id)
    assert isinstance(loaded, Ingress)
    assert (loaded.livekit_ingress_id, loaded.deleted_at) == ("IN_1", AT)
