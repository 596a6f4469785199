"""Real commands on the real aggregates, saved by a real ``PulseApplication``.

Shared by the projection, query and worker tests: a small world with every kind
of event the read models handle, plus some they do not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from pulse.domain.billing_account import BillingAccount
from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.egress import Egress, EgressKind, Layout
from pulse.domain.ingress import Ingress, IngressKind
from pulse.domain.invitation import Invitation
from pulse.domain.invoice import Invoice
from pulse.domain.member import Member
from pulse.domain.metering import Meter
from pulse.domain.organization import Organization
from pulse.domain.participant_session import ParticipantSession
from pulse.domain.plans import Plan, terms_of
from pulse.domain.pricing import price_usage
from pulse.domain.project import Project
from pulse.domain.roles import Role
from pulse.domain.room import ClosedBy, Room
from pulse.domain.session import Session
from pulse.domain.usage_alert import UsageAlert
from pulse.domain.user import User
from pulse.domain.webhook_delivery import WebhookDelivery
from pulse.domain.webhook_endpoint import DisabledBy, WebhookEndpoint
from pulse.services.application import PulseApplication

CTX = CommandContext(ActorKind.USER, "u")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
STORAGE: dict[str, Any] = {
    "provider": "s3",
    "bucket": "recordings",
    "region": "eu-west-1",
    "access_key_id": "AKIA-TEST",
    "secret_access_key": "enc:v1:c2VjcmV0",
}


def register(app: PulseApplication, email: str, name: str = "Someone") -> User:
    user = User(email=email, name=name, password_hash="argon2-hash", context=CTX)
    app.save(user)
    return user


def found_organization(
    app: PulseApplication, owner: User, name: str = "Acme", plan: str = "free"
) -> tuple[Organization, Member]:
    """An organization and its creator's Owner membership, saved together."""
    organization = Organization(
        name=name, admin_email=owner.email, plan=plan, creator_id=owner.id, context=CTX
    )
    member = Member(
        organization_id=organization.id,
        user_id=owner.id,
        email=owner.email,
        role="owner",
        context=CTX,
    )
    app.save(organization, member)
    return organization, member


def join(app: PulseApplication, organization: Organization, user: User, role: str) -> Member:
    member = Member(
        organization_id=organization.id, user_id=user.id, email=user.email, role=role, context=CTX
    )
    app.save(member)
    return member


def create_project(
    app: PulseApplication,
    organization: Organization,
    name: str,
    region: str = "eu-west",
    storage: dict[str, Any] | None = None,
) -> Project:
    project = Project(
        organization_id=organization.id,
        name=name,
        region=region,
        webhook_url=None,
        storage=storage,
        context=CTX,
    )
    app.save(project)
    return project


def record_media(app: PulseApplication, project: Project) -> None:
    """A room with a closed and an open session, a refused egress and ingress."""
    livekit = CommandContext(ActorKind.SYSTEM, "livekit")
    room = Room(project.id, "standup", "RM_1", NOW, livekit)
    sessions = [
        ParticipantSession(
            project.id, room.id, "standup", "RM_1", sid, identity, identity.title(), NOW, livekit
        )
        for sid, identity in (("PA_1", "ann"), ("PA_2", "ben"))
    ]
    sessions[0].publish_track("TR_1", "audio", "microphone", NOW, livekit)
    sessions[0].leave(NOW + timedelta(seconds=61.5), ClosedBy.WEBHOOK, "left", livekit)
    app.save(room, *sessions)
    egress = Egress(
        uuid4(),
        project.id,
        "standup",
        EgressKind.ROOM_COMPOSITE,
        Layout.GRID,
        False,
        None,
        None,
        None,
        {"file": {"key": "standup.mp4"}},
        None,
        "us-east",
        CTX,
    )
    egress.record_refused("unavailable", "no egress worker", NOW, CTX)
    ingress = Ingress(
        uuid4(),
        project.id,
        "standup",
        IngressKind.RTMP,
        "camera",
        "cam",
        None,
        None,
        None,
        "us-east",
        CTX,
    )
    ingress.record_refused("unavailable", "ingress not connected", CTX)
    app.save(egress, ingress)


def record_webhook_endpoints(app: PulseApplication, project: Project) -> None:
    """One endpoint through every event its read model handles, and one deleted."""
    kept = WebhookEndpoint(uuid4(), project.id, "https://hooks.example.test/a", "", [], "s1", CTX)
    kept.update({"description": "orders", "event_types": ["room_started"]}, CTX)
    kept.rotate_secret("s2", NOW + timedelta(days=1), CTX)
    kept.record_failure(NOW, CTX)
    kept.disable(DisabledBy.FAILING, "failing", NOW, CTX)
    kept.enable(CTX)
    kept.record_failure(NOW, CTX)
    kept.record_success(NOW, CTX)
    gone = WebhookEndpoint(uuid4(), project.id, "https://hooks.example.test/b", "", [], "s3", CTX)
    gone.delete(CTX)
    app.save(kept, gone)


def record_webhook_deliveries(app: PulseApplication, project: Project) -> None:
    """Deliveries through every event their read models handle (attempts included)."""
    delivered = WebhookDelivery(
        uuid4(), uuid4(), project.id, "room_started", {"type": "room_started"}, NOW, NOW, CTX
    )
    delivered.claim(NOW, NOW + timedelta(seconds=20), CTX)
    delivered.fail_attempt(1, NOW, 500, "answered 500", 3.5, "oops", NOW, CTX)
    delivered.claim(NOW, NOW + timedelta(seconds=20), CTX)
    later = NOW + timedelta(minutes=1)
    delivered.claim(later, later + timedelta(seconds=20), CTX)  # The claim had expired.
    delivered.succeed(3, later, 204, 9.0, None, CTX)
    delivered.resend(later, CTX)
    abandoned = WebhookDelivery(
        uuid4(), uuid4(), project.id, "room_ended", {"type": "room_ended"}, NOW, NOW, CTX
    )
    abandoned.abandon(NOW, "endpoint deleted", CTX)
    app.save(delivered, abandoned)


@dataclass
class World:
    alice: User
    bob: User
    carol: User
    acme: Organization
    globex: Organization
    alice_in_acme: Member
    bob_in_acme: Member
    video: Project
    audio: Project
    old: Project
    accepted: Invitation
    revoked: Invitation
    pending: Invitation
    keys: dict[str, str] = field(default_factory=dict)
    """key id -> digest."""


def record_billing(app: PulseApplication, organization: Organization, project: Project) -> None:
    """An alert, an invoice through its states, a Stripe customer with a card."""
    alert = UsageAlert(
        project_id=project.id,
        organization_id=organization.id,
        period="2026-11",
        meter="participant_minutes",
        level="threshold",
        percent="80.00",
        used="80000",
        limit="100000",
        plan="pro",
        context=CommandContext.system("usage-limits"),
    )
    lines = price_usage(terms_of("pro"), {Meter.PARTICIPANT_MINUTES: 90_000})
    invoice = Invoice.draft(organization.id, project.id, "2026-10", Plan.PRO, lines, CTX)
    invoice.refresh(Plan.PRO, price_usage(terms_of("pro"), {}), CTX)
    invoice.finalize(NOW, CTX)
    invoice.mark_paid(NOW + timedelta(days=1), CTX)
    account = BillingAccount(
        organization_id=organization.id, provider="stripe", customer_id="cus_1", context=CTX
    )
    account.attach_payment_method("pm_1", "visa", "4242", CTX)
    app.save(alert, invoice, account)


def build_world(app: PulseApplication) -> World:
    """Every event kind the read models handle, and a session the projections skip."""
    alice = register(app, "Alice@Example.test", "Alice")
    bob = register(app, "bob@example.test", "Bob")
    carol = register(app, "carol@example.test", "Carol")

    acme, alice_in_acme = found_organization(app, alice, "Acme Corp")
    acme.update({"name": "ACME (Europe) Ltd.", "plan": "pro"}, CTX)
    app.save(acme)
    globex, _ = found_organization(app, carol, "Globex")

    bob_in_acme = join(app, acme, bob, "developer")
    bob_in_acme.change_role(role=Role.ADMIN, context=CTX)
    app.save(bob_in_acme)
    acme.add_owner(bob.id, CTX)
    bob_in_acme.change_role(role=Role.OWNER, context=CTX)
    app.save(acme, bob_in_acme)
    acme.remove_owner(bob.id, CTX)
    bob_in_acme.remove(CTX)
    app.save(acme, bob_in_acme)
    bob_in_acme.rejoin(role=Role.VIEWER, rejoined_at=datetime.now(UTC), context=CTX)
    app.save(bob_in_acme)

    video = create_project(app, acme, "Video", storage=STORAGE)
    video.update({"name": "Video Calls", "webhook_url": "https://hooks.example.test/v"}, CTX)
    app.save(video)
    keys: dict[str, str] = {}
    for key_id in ("pk_a", "pk_b", "pk_c"):
        keys[key_id] = f"digest-{key_id}"
        video.add_key(key_id, f"key {key_id}", keys[key_id], NOW, CTX)
    app.save(video)
    video.revoke_key("pk_b", NOW + timedelta(minutes=1), CTX)
    keys["pk_d"] = "digest-pk_d"
    video.rotate_key(
        "pk_a", "pk_d", keys["pk_d"], NOW + timedelta(minutes=2), NOW + timedelta(days=2), CTX
    )
    app.save(video)
    # A regeneration with a later grace may not extend pk_a's shorter remaining life.
    keys["pk_e"] = "digest-pk_e"
    video.regenerate_keys(
        "pk_e", keys["pk_e"], NOW + timedelta(minutes=3), NOW + timedelta(days=5), CTX
    )
    app.save(video)

    audio = create_project(app, acme, "Audio", region="us-east")
    audio.update({"storage": STORAGE}, CTX)
    audio.update({"storage": None}, CTX)
    app.save(audio)
    old = create_project(app, globex, "Old Thing", region="asia-south")
    old.delete(NOW + timedelta(hours=1), CTX)
    app.save(old)

    accepted = Invitation(
        organization_id=acme.id,
        email="Dave@Example.test",
        role="developer",
        token_digest="t1",
        expires_at=NOW + timedelta(days=7),
        context=CommandContext(ActorKind.API_KEY, "pk_a"),
    )
    accepted.accept(uuid4(), "dave@example.test", NOW, CTX)
    revoked = Invitation(
        organization_id=acme.id,
        email="eve@example.test",
        role="viewer",
        token_digest="t2",
        expires_at=NOW + timedelta(days=7),
        context=CTX,
    )
    revoked.revoke(CTX)
    pending = Invitation(
        organization_id=globex.id,
        email="frank@example.test",
        role="admin",
        token_digest="t3",
        expires_at=NOW + timedelta(days=7),
        context=CTX,
    )
    app.save(accepted, revoked, pending)

    session = Session(user_id=alice.id, token_digest="s", expires_at=NOW, context=CTX)
    session.revoke("logout", CTX)
    app.save(session)
    alice.change_password_hash("argon2-new", CTX)
    app.save(alice)
    record_media(app, video)
    record_webhook_endpoints(app, video)
    record_webhook_deliveries(app, video)
    record_billing(app, acme, video)

    return World(
        alice=alice,
        bob=bob,
        carol=carol,
        acme=acme,
        globex=globex,
        alice_in_acme=alice_in_acme,
        bob_in_acme=bob_in_acme,
        video=video,
        audio=audio,
        old=old,
        accepted=accepted,
        revoked=revoked,
        pending=pending,
        keys=keys,
    )


def sid(value: UUID) -> str:
    return str(value)
