"""Domain rules, without I/O: aggregates, the role matrix, and event round trips.

Round trips use the eventsourcing library's in-memory store, so that every event
(and the CommandContext it carries) is known to survive the transcoder.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.errors import (
    DeletedError,
    ExpiredError,
    InvalidValueError,
    InvariantError,
    NotPermittedError,
)
from pulse.domain.invitation import Invitation, InvitationStatus
from pulse.domain.member import Member, member_id
from pulse.domain.organization import Organization
from pulse.domain.project import MAX_ACTIVE_KEYS, KeyStatus, Project
from pulse.domain.roles import Permission, Role, allows, may_assign
from pulse.domain.session import Session
from pulse.domain.user import User, user_id_for
from pulse.services.application import PulseApplication

CTX = CommandContext(ActorKind.USER, "u-1", ip="203.0.113.7", user_agent="ua", request_id="r-1")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def new_project() -> Project:
    return Project(
        organization_id=uuid4(),
        name="app",
        region="eu-west",
        webhook_url=None,
        storage=None,
        context=CTX,
    )


def in_memory_application() -> PulseApplication:
    return PulseApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


class TestOrganization:
    def test_the_creator_is_the_first_owner_and_the_last_one_cannot_go(self) -> None:
        creator = uuid4()
        organization = Organization(
            name="Acme", admin_email="ops@acme.test", plan="free", creator_id=creator, context=CTX
        )
        assert organization.owner_ids == {creator}
        with pytest.raises(InvariantError, match="at least one Owner"):
            organization.remove_owner(creator, CTX)

        other = uuid4()
        organization.add_owner(other, CTX)
        organization.remove_owner(creator, CTX)
        assert organization.owner_ids == {other}

    def test_a_deleted_organization_accepts_no_command(self) -> None:
        organization = Organization(
            name="Acme", admin_email="a@b.test", plan="pro", creator_id=uuid4(), context=CTX
        )
        organization.delete(NOW, CTX)
        with pytest.raises(DeletedError):
            organization.update({"name": "New"}, CTX)
        with pytest.raises(DeletedError):
            organization.add_owner(uuid4(), CTX)

    def test_an_unknown_plan_is_refused(self) -> None:
        organization = Organization(
            name="Acme", admin_email="a@b.test", plan="free", creator_id=uuid4(), context=CTX
        )
        with pytest.raises(ValueError, match="gold"):
            organization.update({"plan": "gold"}, CTX)


class TestProjectKeys:
    def test_a_deleted_project_accepts_no_command(self) -> None:
        project = new_project()
        project.delete(NOW, CTX)
        for command in (
            lambda: project.update({"name": "x"}, CTX),
            lambda: project.add_key("pk_1", "k", "d", NOW, CTX),
            lambda: project.regenerate_keys("pk_2", "d2", NOW, NOW, CTX),
        ):
            with pytest.raises(DeletedError):
                command()

    def test_unknown_regions_are_refused(self) -> None:
        with pytest.raises(InvalidValueError, match="Unknown region"):
            Project(
                organization_id=uuid4(),
                name="a",
                region="mars-1",
                webhook_url=None,
                storage=None,
                context=CTX,
            )
        with pytest.raises(InvalidValueError):
            new_project().update({"region": "mars-1"}, CTX)

    def test_a_rotated_key_works_during_its_grace_period_only(self) -> None:
        project = new_project()
        project.add_key("pk_old", "main", "d-old", NOW, CTX)
        project.rotate_key("pk_old", "pk_new", "d-new", NOW, NOW + timedelta(hours=1), CTX)

        old = project.keys["pk_old"]
        assert old.status(NOW + timedelta(minutes=59)) is KeyStatus.EXPIRING
        assert old.accepts_at(NOW + timedelta(minutes=59))
        assert not old.accepts_at(NOW + timedelta(hours=1))
        assert project.keys["pk_new"].status(NOW) is KeyStatus.ACTIVE
        assert project.keys["pk_new"].name == "main"

    def test_a_rotation_never_extends_a_key_that_is_already_expiring(self) -> None:
        project = new_project()
        project.add_key("pk_a", "a", "d-a", NOW, CTX)
        project.regenerate_keys("pk_b", "d-b", NOW, NOW + timedelta(minutes=5), CTX)
        project.rotate_key("pk_a", "pk_c", "d-c", NOW, NOW + timedelta(days=1), CTX)
        assert project.keys["pk_a"].expires_at == NOW + timedelta(minutes=5)

    def test_a_revoked_key_stops_at_once_and_cannot_be_rotated(self) -> None:
        project = new_project()
        project.add_key("pk_a", "a", "d-a", NOW, CTX)
        project.revoke_key("pk_a", NOW, CTX)
        assert project.keys["pk_a"].status(NOW) is KeyStatus.REVOKED
        with pytest.raises(InvariantError):
            project.rotate_key("pk_a", "pk_b", "d", NOW, NOW, CTX)
        with pytest.raises(InvariantError):
            project.revoke_key("pk_a", NOW, CTX)

    def test_regenerating_retires_every_working_key(self) -> None:
        project = new_project()
        project.add_key("pk_a", "a", "d-a", NOW, CTX)
        project.add_key("pk_b", "b", "d-b", NOW, CTX)
        project.regenerate_keys("pk_c", "d-c", NOW, NOW, CTX)
        assert [k.key_id for k in project.active_keys(NOW)] == ["pk_c"]

    def test_there_is_a_bound_on_active_keys(self) -> None:
        project = new_project()
        for n in range(MAX_ACTIVE_KEYS):
            project.add_key(f"pk_{n}", "k", f"d{n}", NOW, CTX)
        with pytest.raises(InvariantError, match="at most"):
            project.add_key("pk_extra", "k", "dx", NOW, CTX)
        project.revoke_key("pk_0", NOW, CTX)
        project.add_key("pk_extra", "k", "dx", NOW, CTX)


class TestMembersAndInvitations:
    def test_one_member_per_organization_and_user(self) -> None:
        organization_id, user_id = uuid4(), uuid4()
        member = Member(
            organization_id=organization_id,
            user_id=user_id,
            email="a@b.test",
            role="viewer",
            context=CTX,
        )
        assert member.id == member_id(organization_id, user_id)
        member.remove(CTX)
        with pytest.raises(InvariantError):
            member.change_role(Role.ADMIN, CTX)
        member.rejoin(Role.DEVELOPER, NOW, CTX)
        assert member.active
        assert member.role is Role.DEVELOPER

    def test_an_invitation_is_for_its_email_once_and_for_seven_days(self) -> None:
        invitation = Invitation(
            organization_id=uuid4(),
            email="New@Example.test",
            role="developer",
            token_digest="d",
            expires_at=NOW + timedelta(days=7),
            context=CTX,
        )
        with pytest.raises(NotPermittedError):
            invitation.accept(uuid4(), "someone@else.test", NOW, CTX)
        with pytest.raises(ExpiredError):
            invitation.accept(uuid4(), "new@example.test", NOW + timedelta(days=7), CTX)
        invitation.accept(uuid4(), " new@example.TEST ", NOW, CTX)
        assert invitation.status is InvitationStatus.ACCEPTED
        with pytest.raises(InvariantError):
            invitation.revoke(CTX)


class TestSessions:
    def test_a_reused_refresh_token_ends_the_session(self) -> None:
        session = Session(
            user_id=uuid4(), token_digest="first", expires_at=NOW + timedelta(days=1), context=CTX
        )
        session.rotate("first", "second", NOW + timedelta(days=1), NOW, CTX)
        assert session.matches("second")
        session.rotate("first", "third", NOW + timedelta(days=1), NOW, CTX)
        assert session.is_revoked
        with pytest.raises(InvariantError):
            session.rotate("second", "fourth", NOW + timedelta(days=1), NOW, CTX)

    def test_a_token_that_never_belonged_to_the_session_is_refused_without_ending_it(
        self,
    ) -> None:
        session = Session(
            user_id=uuid4(), token_digest="first", expires_at=NOW + timedelta(days=1), context=CTX
        )
        with pytest.raises(NotPermittedError):
            session.rotate("guessed", "x", NOW + timedelta(days=1), NOW, CTX)
        assert not session.is_revoked
        session.rotate("first", "second", NOW + timedelta(days=1), NOW, CTX)
        assert session.matches("second")

    def test_an_expired_session_does_not_rotate(self) -> None:
        session = Session(user_id=uuid4(), token_digest="t", expires_at=NOW, context=CTX)
        with pytest.raises(ExpiredError):
            session.rotate("t", "u", NOW + timedelta(days=1), NOW, CTX)


class TestRoleMatrix:
    @pytest.mark.parametrize(
        ("role", "allowed"),
        [
            (Role.OWNER, set(Permission)),
            (
                Role.ADMIN,
                set(Permission)
                - {
                    Permission.MANAGE_ORGANIZATION,
                    Permission.DELETE_ORGANIZATION,
                    Permission.MANAGE_BILLING,
                },
            ),
            (
                Role.DEVELOPER,
                {
                    Permission.VIEW_ORGANIZATION,
                    Permission.VIEW_PROJECTS,
                    Permission.MANAGE_PROJECTS,
                    Permission.MANAGE_API_KEYS,
                    Permission.VIEW_TEAM,
                    Permission.VIEW_AUDIT_LOG,
                    Permission.VIEW_USAGE,
                },
            ),
            (
                Role.VIEWER,
                {
                    Permission.VIEW_ORGANIZATION,
                    Permission.VIEW_PROJECTS,
                    Permission.VIEW_TEAM,
                    Permission.VIEW_AUDIT_LOG,
                    Permission.VIEW_USAGE,
                },
            ),
        ],
    )
    def test_each_role_has_exactly_the_plans_permissions(
        self, role: Role, allowed: set[Permission]
    ) -> None:
        assert {p for p in Permission if allows(role, p)} == allowed

    def test_only_owners_touch_the_owner_role(self) -> None:
        assert may_assign(Role.ADMIN, Role.VIEWER, Role.ADMIN)
        assert may_assign(Role.ADMIN, Role.DEVELOPER, None)
        assert not may_assign(Role.ADMIN, None, Role.OWNER)
        assert not may_assign(Role.ADMIN, Role.OWNER, Role.ADMIN)
        assert may_assign(Role.OWNER, Role.OWNER, Role.VIEWER)
        assert not may_assign(Role.DEVELOPER, Role.VIEWER, Role.DEVELOPER)


class TestEventsRoundTrip:
    def test_every_event_carries_its_context_and_replays_to_the_same_state(self) -> None:
        app = in_memory_application()
        user = User(email="Ada@Example.test", name="Ada", password_hash="h", context=CTX)
        organization = Organization(
            name="Acme", admin_email="ops@acme.test", plan="pro", creator_id=user.id, context=CTX
        )
        project = new_project()
        project.add_key("pk_1", "main", "d1", NOW, CTX)
        project.rotate_key("pk_1", "pk_2", "d2", NOW, NOW + timedelta(hours=1), CTX)
        project.update({"storage": {"bucket": "b"}, "webhook_url": "https://x.test/h"}, CTX)
        app.save(user, organization, project)

        for notification in app.recorder.select_notifications(None, 100):
            event = app.mapper.to_domain_event(notification)
            assert getattr(event, "context", None) == CTX, type(event).__qualname__

        copy = app.repository.get(project.id)
        assert copy.keys == project.keys
        assert copy.storage == {"bucket": "b"}
        assert app.repository.get(organization.id).owner_ids == {user.id}
        assert app.repository.get(user_id_for("ada@example.test")).email == "ada@example.test"


def test_a_rejoined_event_stored_before_it_had_a_time_still_replays() -> None:
    """Events are kept forever: an attribute added later must not break old ones."""
    app = in_memory_application()
    member = Member(
        organization_id=uuid4(), user_id=uuid4(), email="a@b.test", role="viewer", context=CTX
    )
    member.remove(CTX)
    member.rejoin(Role.ADMIN, NOW, CTX)
    app.save(member)
    # Rewrite the stored Rejoined event as an older version of Pulse wrote it.
    recorder = app.recorder
    stored = recorder.select_events(member.id)
    old_state = app.mapper.transcoder.decode(stored[-1].state)
    del old_state["rejoined_at"]
    older = in_memory_application()
    older.recorder.insert_events(
        [
            *stored[:-1],
            type(stored[-1])(
                originator_id=stored[-1].originator_id,
                originator_version=stored[-1].originator_version,
                topic=stored[-1].topic,
                state=app.mapper.transcoder.encode(old_state),
            ),
        ]
    )

    replayed = older.repository.get(member.id)
    assert replayed.role is Role.ADMIN
    assert replayed.active
    assert replayed.rejoined_at is None
