"""Issue 4, acceptance 1 and 2: real traffic through LiveKit, exact minutes per hour and an
exact Pro invoice; redelivered webhooks and a restarted usage projection change nothing.

LiveKit's clock cannot be moved: the stays and the recording that cross hour boundaries
at chosen moments are told to Pulse by webhooks signed exactly as livekit-server signs
them, POSTed to the same intake (``POST /v1/webhooks/livekit``) LiveKit's own webhooks
reach (see ``scenario.py`` for the traffic, ``traffic.py`` for what LiveKit puts where).
Their expected figures are written out by hand below. The real participants (rtc
clients on the real livekit-server) are checked against the session records Pulse
stored (``GET /v1/rooms/{room}/sessions``), split into hours by this test's own
arithmetic.

The signed day is the 14th of the previous month (a period already over, figures
independent of the day the tests run), for a project of an organization on Pro from
its creation. A leave's moment is the webhook's ``created_at``, which LiveKit stamps in
whole seconds, hence the whole-second leave times.

Everything is read back through the API: ``GET /v1/usage/{project}?granularity=...``,
``/summary``, ``POST /v1/billing/{project}/invoice`` and ``GET /v1/billing/invoice/{id}``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from pulse.projections.runner import catch_up, rebuild
from pulse.projections.store import read_model_database
from tests.billing_scenario.reading import buckets, generate_invoice, get_invoice, lines_of, summary
from tests.billing_scenario.scenario import (
    RECORDING_BYTES,
    Scenario,
    drive,
    egress_span,
    project_in,
    request_egress,
    set_storage,
    signed_egress_events,
    signed_room_events,
)
from tests.billing_scenario.settling import projection, settle
from tests.billing_scenario.traffic import HOUR, Deliveries, add_into, ms_by_hour, parse_time
from tests.management.world import World
from tests.media.twirp_double import LiveKitMediaDouble


@pytest.fixture(scope="module")
def scenario(world: World, double: LiveKitMediaDouble) -> Scenario:
    return drive(world, double)


# -- the signed part, by hand -----------------------------------------------------------
#
# alice 09:50:00.250 -> 10:20:01.000   09h:   599,750   10h: 1,201,000
# bob   09:50:00.750 -> 10:20:00.000   09h:   599,250   10h: 1,200,000
# carol 10:45:30.125 -> 12:15:45.000   10h:   869,875   11h: 3,600,000   12h: 945,000
# dave  11:59:59.999 -> 12:00:01.000   11h:         1   12h:     1,000
# egress 10:55:00.500 -> 11:03:45.500  10h:   299,500   11h:   225,500
PARTICIPANT_MS = {9: 1_199_000, 10: 3_270_875, 11: 3_600_001, 12: 946_000}
PARTICIPANT_TOTAL_MS = 9_015_876  # = 150.2646 minutes
EGRESS_MS = {10: 299_500, 11: 225_500}
EGRESS_TOTAL_MS = 525_000  # = 8.75 minutes


def expected_hours(scenario: Scenario) -> dict[datetime, dict[str, int]]:
    day = scenario.day
    hours: dict[datetime, dict[str, int]] = {}
    for hour, ms in PARTICIPANT_MS.items():
        hours.setdefault(day.replace(hour=hour), {})["participant_ms"] = ms
    for hour, ms in EGRESS_MS.items():
        hours.setdefault(day.replace(hour=hour), {})["egress_ms"] = ms
    return hours


def test_the_hand_written_figures_are_the_times_sent(scenario: Scenario) -> None:
    """The figures above, recomputed from the very times the webhooks carried."""
    participant: dict[datetime, int] = {}
    for stay in scenario.stays:
        add_into(participant, ms_by_hour(stay.joined, stay.left))
    assert participant == {scenario.day.replace(hour=h): ms for h, ms in PARTICIPANT_MS.items()}
    assert sum(participant.values()) == PARTICIPANT_TOTAL_MS
    egress = ms_by_hour(scenario.egress_started, scenario.egress_ended)
    assert egress == {scenario.day.replace(hour=h): ms for h, ms in EGRESS_MS.items()}
    assert sum(egress.values()) == EGRESS_TOTAL_MS


def test_each_hour_holds_the_exact_milliseconds(world: World, scenario: Scenario) -> None:
    day = scenario.day
    found = buckets(
        world.client, world.headers("owner"), scenario.project_s, "hour", day, day + timedelta(1)
    )
    got = {
        hour: {
            name: value for name, value in fields.items() if name in ("participant_ms", "egress_ms")
        }
        for hour, fields in found.items()
    }
    want = {
        hour: {"participant_ms": 0, "egress_ms": 0, **fields}
        for hour, fields in expected_hours(scenario).items()
    }
    assert got == want
    # Nothing ingested, no API calls in that period: those meters stay at zero.
    for hour, fields in found.items():
        assert fields["ingress_ms"] == 0, hour
        assert fields["api_requests"] == 0, hour


def test_the_recording_is_stored_and_uploaded_in_the_hour_it_ended(
    world: World, scenario: Scenario
) -> None:
    day = scenario.day
    found = buckets(
        world.client, world.headers("owner"), scenario.project_s, "hour", day, day + timedelta(1)
    )
    # Stored and uploaded in the hour the egress ended (11:03:45.500).
    assert {h: f["storage_bytes"] for h, f in found.items() if f["storage_bytes"]} == {
        day.replace(hour=11): 2_250_000_000
    }
    assert {h: f["bandwidth_bytes"] for h, f in found.items() if f["bandwidth_bytes"]} == {
        day.replace(hour=11): 2_250_000_000
    }


def test_day_month_and_summary_add_up(world: World, scenario: Scenario) -> None:
    day = scenario.day
    headers = world.headers("owner")
    month_start = day.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    days = buckets(world.client, headers, scenario.project_s, "day", month_start, next_month)
    months = buckets(world.client, headers, scenario.project_s, "month", month_start, next_month)
    assert list(days) == [day]
    assert list(months) == [month_start]
    for totals in (days[day], months[month_start]):
        assert totals["participant_ms"] == PARTICIPANT_TOTAL_MS
        assert totals["egress_ms"] == EGRESS_TOTAL_MS
        assert totals["storage_bytes"] == RECORDING_BYTES
        assert totals["bandwidth_bytes"] == RECORDING_BYTES
        assert totals["api_requests"] == 0

    usage = summary(world.client, headers, scenario.project_s, scenario.period_s)
    assert int(usage["participant_ms"]) == 9_015_876
    assert usage["participant_minutes"] == "150.265"  # 150.2646, shown to 3 places
    assert int(usage["egress_ms"]) == 525_000
    assert usage["egress_minutes"] == "8.750"
    assert int(usage["storage_bytes"]) == 2_250_000_000
    assert usage["storage_gb"] == "2.250"


# Pro: $49.00 base; 0.004/participant min; 0.012/egress min; 0.10/GB stored; 0.05/GB
# bandwidth (egress output uploaded: the recording's bytes); 0.001 per 1,000 requests.
# Each line rounded once, half up, to the cent.
SIGNED_LINES = [
    ("base_fee", Decimal(1), 1, Decimal("49.00"), 1, Decimal("49.00")),
    # 150.2646 min x 0.004 = 0.6010584 -> 0.60
    ("participant_minutes", Decimal("150.265"), 9_015_876, Decimal("0.004"), 1, Decimal("0.60")),
    # 8.75 min x 0.012 = 0.105 -> 0.11 (half up; half even would say 0.10)
    ("egress_minutes", Decimal("8.750"), 525_000, Decimal("0.012"), 1, Decimal("0.11")),
    # 2.25 GB x 0.10 = 0.225 -> 0.23 (half up; half even would say 0.22)
    ("storage_gb", Decimal("2.250"), 2_250_000_000, Decimal("0.10"), 1, Decimal("0.23")),
    # 2.25 GB x 0.05 = 0.1125 -> 0.11
    ("bandwidth_gb", Decimal("2.250"), 2_250_000_000, Decimal("0.05"), 1, Decimal("0.11")),
    ("api_requests", Decimal(0), 0, Decimal("0.001"), 1_000, Decimal("0.00")),
]
SIGNED_TOTAL = "50.05"  # 49.00 + 0.60 + 0.11 + 0.23 + 0.11 + 0.00


def signed_invoice(world: World, scenario: Scenario) -> dict[str, Any]:
    created = generate_invoice(
        world.client, world.headers("owner"), scenario.project_s, scenario.period_s
    )
    settle(world)
    return get_invoice(world.client, world.headers("owner"), str(created["id"]))


def test_the_pro_invoice_has_the_exact_lines_and_total(world: World, scenario: Scenario) -> None:
    invoice = signed_invoice(world, scenario)
    assert invoice["project_id"] == str(scenario.project_s)
    assert invoice["organization_id"] == str(scenario.organization_id)
    assert invoice["period"] == scenario.period_s
    assert invoice["plan"] == "pro"
    assert invoice["currency"] == "USD"
    assert lines_of(invoice) == SIGNED_LINES
    assert invoice["total"] == SIGNED_TOTAL


# -- the real participants ----------------------------------------------------------------


def real_expected_hours(scenario: Scenario) -> dict[datetime, int]:
    hours: dict[datetime, int] = {}
    for session in scenario.real_sessions:
        joined_at, left_at = parse_time(session["joined_at"]), parse_time(session["left_at"])
        pieces = ms_by_hour(joined_at, left_at)
        assert sum(pieces.values()) == session["duration_ms"], session
        add_into(hours, pieces)
    return hours


def test_real_participants_are_metered_from_their_session_records(
    world: World, scenario: Scenario
) -> None:
    sessions = scenario.real_sessions
    assert sorted(s["identity"] for s in sessions) == ["erin", "frank"]
    assert all(s["closed_by"] == "webhook" for s in sessions)
    # They stayed 2 s and 3 s after connecting (LiveKit's join and leave moments are
    # its own): well over a second, well under a minute.
    assert all(1_000 <= s["duration_ms"] < 60_000 for s in sessions), sessions
    want = real_expected_hours(scenario)
    start = min(want) - HOUR
    end = max(want) + 2 * HOUR
    found = buckets(world.client, world.headers("owner"), scenario.project_r, "hour", start, end)
    assert {hour: f["participant_ms"] for hour, f in found.items() if f["participant_ms"]} == want
    assert all(f["egress_ms"] == 0 and f["storage_bytes"] == 0 for f in found.values())


def test_real_participants_invoice(world: World, scenario: Scenario) -> None:
    period = f"{min(real_expected_hours(scenario)):%Y-%m}"
    total_ms = sum(s["duration_ms"] for s in scenario.real_sessions)
    usage = summary(world.client, world.headers("owner"), scenario.project_r, period)
    assert int(usage["participant_ms"]) == total_ms
    created = generate_invoice(world.client, world.headers("owner"), scenario.project_r, period)
    invoice = get_invoice(world.client, world.headers("owner"), str(created["id"]))
    lines = {line[0]: line for line in lines_of(invoice)}
    minutes = Decimal(total_ms) / 60_000
    assert lines["participant_minutes"][1:] == (
        minutes.quantize(Decimal("0.001"), ROUND_HALF_UP),
        total_ms,
        Decimal("0.004"),
        1,
        (minutes * Decimal("0.004")).quantize(Decimal("0.01"), ROUND_HALF_UP),
    )
    # Key-authenticated calls of this period (token mints, session reads) may be
    # counted: the line must price exactly what the summary says was counted.
    requests = int(usage["api_requests"])
    assert lines["api_requests"][2] == requests
    assert lines["api_requests"][5] == (Decimal(requests) / 1000 * Decimal("0.001")).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )
    for item in ("egress_minutes", "storage_gb", "bandwidth_gb"):
        assert lines[item][2] == 0, lines[item]
        assert lines[item][5] == Decimal("0.00"), lines[item]
    assert lines["base_fee"][5] == Decimal("49.00")
    assert Decimal(invoice["total"]) == sum(line[5] for line in lines.values())


# -- acceptance 2: redelivery and restarts change no figure ------------------------------


def figures(world: World, scenario: Scenario) -> dict[str, Any]:
    """Every figure a customer can read for project S's period, and the raw documents."""
    headers = world.headers("owner")
    day = scenario.day
    month_start = day.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    database = read_model_database(world.app)
    return {
        "hours": buckets(
            world.client, headers, scenario.project_s, "hour", month_start, next_month
        ),
        "days": buckets(world.client, headers, scenario.project_s, "day", month_start, next_month),
        "months": buckets(
            world.client, headers, scenario.project_s, "month", month_start, next_month
        ),
        "summary": summary(world.client, headers, scenario.project_s, scenario.period_s),
        "documents": sorted(
            (
                {key: value for key, value in doc.items() if key != "applied_through"}
                for doc in database["rm_usage_buckets"].find({})
            ),
            key=lambda doc: str(doc["_id"]),
        ),
    }


def invoice_figures(invoice: dict[str, Any]) -> tuple[Any, ...]:
    return (invoice["period"], invoice["plan"], lines_of(invoice), invoice["total"])


def test_redelivered_webhooks_in_any_order_change_no_figure(
    world: World, scenario: Scenario
) -> None:
    settle(world)
    before = figures(world, scenario)
    invoice_before = invoice_figures(signed_invoice(world, scenario))
    last_event = world.app.recorder.max_notification_id()

    # Every signed webhook again, as LiveKit retries them, then once more shuffled.
    outcomes = [
        scenario.deliveries.post(sent.body, sent.headers) for sent in scenario.deliveries.sent
    ]
    shuffled = list(scenario.deliveries.sent)
    random.Random(4).shuffle(shuffled)
    outcomes += [scenario.deliveries.post(sent.body, sent.headers) for sent in shuffled]

    assert set(outcomes) <= {"duplicate", "unchanged"}, outcomes
    assert world.app.recorder.max_notification_id() == last_event  # nothing appended
    settle(world)
    assert figures(world, scenario) == before
    assert invoice_figures(signed_invoice(world, scenario)) == invoice_before


def test_first_deliveries_out_of_order_and_twice_give_the_same_figures(
    world: World, scenario: Scenario, double: LiveKitMediaDouble
) -> None:
    """The same signed traffic into a new project of the organization, every webhook
    delivered twice and in a shuffled order (a leave before its join, the recording's
    end before its start, the room's end first): the same hours, the same invoice."""
    project = project_in(world, scenario.organization_id, "eu-west")
    secret = world.new_key_secret(project)
    settle(world)
    set_storage(world, project)
    egress_id, livekit_id = request_egress(world, secret)
    events = [
        *signed_room_events(project, scenario.day),
        *signed_egress_events(double, egress_id, livekit_id, *egress_span(scenario.day)),
    ]
    twice = events + events
    random.Random(11).shuffle(twice)
    deliveries = Deliveries(world.client)
    outcomes = [deliveries.deliver(event) for event in twice]
    assert outcomes.count("recorded") <= len(events)
    assert set(outcomes) <= {"recorded", "duplicate", "unchanged"}, outcomes
    settle(world)

    day = scenario.day
    found = buckets(world.client, world.headers("owner"), project, "hour", day, day + timedelta(1))
    assert {h: f["participant_ms"] for h, f in found.items() if f["participant_ms"]} == {
        day.replace(hour=h): ms for h, ms in PARTICIPANT_MS.items()
    }
    assert {h: f["egress_ms"] for h, f in found.items() if f["egress_ms"]} == {
        day.replace(hour=h): ms for h, ms in EGRESS_MS.items()
    }
    invoice = generate_invoice(world.client, world.headers("owner"), project, scenario.period_s)
    assert lines_of(invoice) == SIGNED_LINES
    assert invoice["total"] == SIGNED_TOTAL


def test_a_restarted_or_rebuilt_usage_projection_changes_no_figure(
    world: World, scenario: Scenario
) -> None:
    settle(world)
    before = figures(world, scenario)
    database = read_model_database(world.app)
    usage = projection("usage")

    # A worker restarting finds nothing new: catching up again applies nothing twice.
    catch_up(usage, world.app, database, world.settings)
    assert figures(world, scenario) == before
    # Replayed from the first event.
    rebuild(usage, world.app, database, world.settings)
    assert figures(world, scenario) == before
    assert invoice_figures(signed_invoice(world, scenario))[2:] == (SIGNED_LINES, SIGNED_TOTAL)
