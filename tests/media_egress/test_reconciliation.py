"""Reconciliation brings egresses and ingresses up to date when LiveKit's webhooks are lost.

Egresses are started through the API on the Twirp double (LiveKit's egress service);
the double then moves them on (or forgets them) *without* delivering the webhooks,
as when LiveKit drops them under load, and a reconciliation pass asks LiveKit.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from livekit.api import WebhookEvent
from livekit.protocol import egress as eg
from livekit.protocol import ingress as ig

from pulse.clients import open_clients
from pulse.config import Settings
from pulse.domain.egress import Egress
from pulse.livekit.gateway import LiveKitGateway
from pulse.services.media_reconciliation import (
    EGRESS_GONE,
    MediaReconciliationReport,
    reconcile_media,
)
from pulse.services.reconciliation import ReconciliationSettings
from pulse.workers.context import CLIENTS_KEY, PROVIDER_KEY, SETTINGS_KEY, JobContext
from pulse.workers.reconciliation_jobs import RECONCILIATION_SETTINGS_KEY, reconcile_rooms
from tests.management.conftest import management_settings
from tests.management.world import World
from tests.media.twirp_double import API_KEY, API_SECRET, LiveKitMediaDouble
from tests.media_egress.conftest import deliver, key, set_storage


def one_pass(
    world: World, grace: float, livekit_settings: Settings | None = None
) -> MediaReconciliationReport:
    """One pass, with clients of its own (the app's are bound to its own event loop);
    LiveKit's regions from ``livekit_settings`` if given."""
    options = ReconciliationSettings(_env_file=None, grace_seconds=grace)

    async def run() -> MediaReconciliationReport:
        async with open_clients(world.settings, app_name="media-reconciliation-test") as clients:
            gateway = clients.livekit
            if livekit_settings is not None:
                gateway = LiveKitGateway(livekit_settings)
            try:
                return await reconcile_media(
                    world.app,
                    clients.database,
                    gateway,
                    clients.redis,
                    world.settings.redis_key_prefix,
                    options,
                )
            finally:
                if gateway is not clients.livekit:
                    await gateway.aclose()

    return asyncio.run(run())


def run_job(world: World, grace: float) -> dict[str, int | str | None]:
    """The arq job ``reconcile_rooms``, with the context a worker gives it."""
    options = ReconciliationSettings(_env_file=None, grace_seconds=grace)

    async def run() -> dict[str, int | str | None]:
        async with open_clients(world.settings, app_name="media-reconciliation-job") as clients:
            ctx: JobContext = {
                SETTINGS_KEY: world.settings,
                CLIENTS_KEY: clients,
                PROVIDER_KEY: world.client.app.state.pulse,  # type: ignore[attr-defined]
                RECONCILIATION_SETTINGS_KEY: options,
            }
            return await reconcile_rooms(ctx)

    return asyncio.run(run())


def start_recording(world: World, secret: str) -> tuple[str, str, str]:
    """An active room-composite egress to an mp4: (Pulse's id, LiveKit's id, room)."""
    set_storage(world)
    room = f"rec-{uuid.uuid4().hex[:6]}"
    answer = world.client.post(
        "/v1/media/egress/start",
        json={"room": room, "outputs": {"file": {}}},
        headers=key(secret),
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["status"] == "active"
    world.settle()  # Reconciliation reads the unfinished egresses from the read model.
    return created["id"], created["livekit_egress_id"], room


def get(world: World, secret: str, path: str) -> dict[str, Any]:
    answer = world.client.get(path, headers=key(secret))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def last_event_id(world: World) -> int:
    """The newest committed notification id: unchanged means nothing was appended."""
    return int(world.app.recorder.max_notification_id() or 0)


def unreachable_livekit(world: World) -> Settings:
    """The world's settings with eu-west's LiveKit at a port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = {"url": f"http://127.0.0.1:{port}", "api_key": API_KEY, "api_secret": API_SECRET}
    return management_settings(world.settings.mongo_database, livekit_regions={"eu-west": endpoint})


def test_an_egress_whose_ended_webhook_was_lost_is_completed_with_its_files(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble
) -> None:
    egress_id, livekit_id, room = start_recording(world, keys["a"])
    prefix = f"recordings/{room}/{egress_id}"

    # LiveKit starts recording; its egress_started webhook is lost.
    double.egress_info(livekit_id, eg.EgressStatus.EGRESS_ACTIVE, started_at=1_700_000_000 * 10**9)
    report = run_job(world, 30.0)
    assert (report["unfinished_egresses"], report["egresses_updated"]) == (1, 1)
    assert report["media_skipped"] is None
    assert report["open_rooms"] == 0  # The rooms pass ran too, with nothing to do.
    shown = get(world, keys["a"], f"/v1/media/egress/{egress_id}")
    assert (shown["status"], shown["livekit_status"]) == ("active", "EGRESS_ACTIVE")
    assert shown["started_at"] is not None
    before = last_event_id(world)
    assert one_pass(world, 30.0).egresses_updated == 0  # Nothing new: nothing recorded.
    assert last_event_id(world) == before

    # LiveKit finishes it; its egress_ended webhook is lost too.
    complete = double.egress_info(
        livekit_id,
        eg.EgressStatus.EGRESS_COMPLETE,
        ended_at=1_700_000_090 * 10**9,
        file_results=[
            eg.FileInfo(filename=f"{prefix}/recording.mp4", size=4_321, duration=90 * 10**9)
        ],
    )
    report = run_job(world, 30.0)
    assert (report["unfinished_egresses"], report["egresses_updated"]) == (1, 1)
    done = get(world, keys["a"], f"/v1/media/egress/{egress_id}")
    assert done["status"] == "complete"
    assert done["recording_available"] is True
    assert done["ended_at"] is not None
    [file] = done["results"]["files"]
    assert file["url"] == f"https://cdn.example.com/{prefix}/recording.mp4"
    assert (file["size_bytes"], file["duration_seconds"]) == (4_321, 90.0)
    last = list(world.app.events.get(uuid.UUID(egress_id)))[-1]
    assert last.context.actor_id == "reconciliation"  # type: ignore[attr-defined]

    # The webhook arrives at last: it changes nothing and records nothing.
    before = last_event_id(world)
    late = WebhookEvent(
        id=f"EV_{uuid.uuid4().hex[:10]}", event="egress_ended", egress_info=complete
    )
    assert deliver(world, late)["outcome"] == "unchanged"
    assert last_event_id(world) == before
    assert get(world, keys["a"], f"/v1/media/egress/{egress_id}") == done

    # The list (read model) agrees, and a further pass has nothing left to ask.
    world.settle()
    listed = get(world, keys["a"], f"/v1/media/egress?room={room}")
    assert listed["items"] == [done]
    assert one_pass(world, 30.0).unfinished_egresses == 0


def test_an_egress_livekit_no_longer_knows_fails_after_the_grace_period(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble
) -> None:
    egress_id, livekit_id, _ = start_recording(world, keys["a"])
    assert one_pass(world, 1.0).egresses_missing == 0  # Seen by a pass: remembered.
    sighted_by = datetime.now(UTC)
    double.forget_egress(livekit_id)

    # Missing, but within the grace period: left as it is.
    first = one_pass(world, 1.0)
    assert (first.egresses_missing, first.egresses_failed) == (1, 0)
    assert get(world, keys["a"], f"/v1/media/egress/{egress_id}")["status"] == "active"
    time.sleep(1.1)
    second = one_pass(world, 1.0)
    assert (second.egresses_missing, second.egresses_failed) == (1, 1)

    failed = get(world, keys["a"], f"/v1/media/egress/{egress_id}")
    assert failed["status"] == "failed"
    assert (failed["error"], failed["error_code"]) == (EGRESS_GONE, "not_found")
    assert failed["recording_available"] is False
    # Ended at the last pass that found it in LiveKit, never later.
    ended_at = datetime.fromisoformat(failed["ended_at"].replace("Z", "+00:00"))
    created_at = datetime.fromisoformat(failed["created_at"].replace("Z", "+00:00"))
    assert created_at <= ended_at <= sighted_by
    assert world.app.load(uuid.UUID(egress_id), Egress).error == EGRESS_GONE

    world.settle()
    assert one_pass(world, 0.0).unfinished_egresses == 0
    listed = get(world, keys["a"], "/v1/media/egress?status=failed&limit=100")
    assert egress_id in [item["id"] for item in listed["items"]]


def test_nothing_changes_while_livekit_cannot_be_asked(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble
) -> None:
    finished_id, finished_lk, _ = start_recording(world, keys["a"])
    lost_id, lost_lk, _ = start_recording(world, keys["a"])
    double.egress_info(finished_lk, eg.EgressStatus.EGRESS_COMPLETE, ended_at=time.time_ns())
    double.forget_egress(lost_lk)
    before = last_event_id(world)

    # LiveKit unreachable: even with no grace period, nothing is failed or updated.
    report = one_pass(world, 0.0, livekit_settings=unreachable_livekit(world))
    assert report.unfinished_egresses == 2
    assert (report.egresses_updated, report.egresses_missing, report.egresses_failed) == (0, 0, 0)
    assert report.media_skipped is not None
    assert "eu-west" in report.media_skipped
    # LiveKit reachable but refusing (no egress service): the same.
    double.refuse_next("unavailable", "no response from servers")
    refused = one_pass(world, 0.0)
    assert (refused.egresses_updated, refused.egresses_failed) == (0, 0)
    assert refused.media_skipped is not None
    assert last_event_id(world) == before
    for egress_id in (finished_id, lost_id):
        assert get(world, keys["a"], f"/v1/media/egress/{egress_id}")["status"] == "active"

    # Once LiveKit answers again, both are settled.
    back = one_pass(world, 0.0)
    assert (back.egresses_updated, back.egresses_failed, back.media_skipped) == (1, 1, None)
    assert get(world, keys["a"], f"/v1/media/egress/{finished_id}")["status"] == "complete"
    assert get(world, keys["a"], f"/v1/media/egress/{lost_id}")["status"] == "failed"


def test_an_ingress_whose_ended_webhook_was_lost_is_inactive_again(
    world: World, keys: dict[str, str], double: LiveKitMediaDouble
) -> None:
    room = f"stage-{uuid.uuid4().hex[:6]}"
    answer = world.client.post(
        "/v1/media/ingress/create",
        json={"room": room, "kind": "rtmp", "participant_identity": "obs", "name": "OBS"},
        headers=key(keys["a"]),
    )
    assert answer.status_code == 201, answer.text
    ingress_id, livekit_id = answer.json()["id"], answer.json()["livekit_ingress_id"]
    publishing = double.ingress_info(livekit_id, ig.IngressState.Status.ENDPOINT_PUBLISHING)
    started = WebhookEvent(
        id=f"EV_{uuid.uuid4().hex[:10]}", event="ingress_started", ingress_info=publishing
    )
    assert deliver(world, started)["outcome"] == "recorded"
    world.settle()

    # The stream stops; ingress_ended is lost.
    double.ingress_info(
        livekit_id, ig.IngressState.Status.ENDPOINT_INACTIVE, ended_at=time.time_ns()
    )
    report = one_pass(world, 30.0)
    assert (report.live_ingresses, report.ingresses_updated) == (1, 1)
    shown = get(world, keys["a"], f"/v1/media/ingress/{ingress_id}")
    assert (shown["status"], shown["livekit_status"]) == ("inactive", "ENDPOINT_INACTIVE")
    assert shown["ended_at"] is not None
    world.settle()
    assert one_pass(world, 30.0).live_ingresses == 0
