"""A small tenant world for the management-plane tests, driven over HTTP.

Organization A has one member per role; organization B belongs to an outsider.
Users sign up and act through the real API; where a test needs many throwaway
targets (a member to remove, a key to revoke), the world creates them through the
service layer, the same code the routes call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from pulse.config import Settings
from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.member import Member
from pulse.domain.organization import Organization
from pulse.domain.plans import Plan
from pulse.domain.roles import Role
from pulse.domain.user import User
from pulse.projections.runner import catch_up_all
from pulse.projections.store import read_model_database
from pulse.services import api_keys, invitations, organizations, projects
from pulse.services.application import PulseApplication
from pulse.services.credentials import Digester, digester_of
from pulse.services.storage_secrets import StorageSecrets

PASSWORD = "correct horse battery staple"
ROLES = (Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.VIEWER)
SETUP = CommandContext(ActorKind.SYSTEM, "test-setup")
UNSET = UUID(int=0)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    client: TestClient
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, UUID] = field(default_factory=dict)
    organization_a: UUID = UNSET
    organization_b: UUID = UNSET
    project_a: UUID = UNSET
    project_b: UUID = UNSET

    @property
    def app(self) -> PulseApplication:
        provider = self.client.app.state.pulse  # type: ignore[attr-defined]
        application: PulseApplication = provider.get()
        return application

    @property
    def digester(self) -> Digester:
        return digester_of(self.settings)

    def headers(self, who: str) -> dict[str, str]:
        return bearer(self.tokens[who])

    def settle(self) -> None:
        """Bring every read model up to date (the worker's job, done inline here)."""
        catch_up_all(self.app, read_model_database(self.app), self.settings)

    # -- setup through the API -----------------------------------------------------

    def sign_up(self, who: str) -> None:
        email = f"{who}-{uuid.uuid4().hex[:8]}@example.com"
        response = self.client.post(
            "/v1/auth/signup", json={"email": email, "name": who.title(), "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        self.tokens[who] = body["access_token"]
        self.user_ids[who] = UUID(body["user"]["id"])

    def create_organization(self, who: str, name: str) -> UUID:
        response = self.client.post(
            "/v1/organizations",
            json={"name": name, "admin_email": "ops@example.com"},
            headers=self.headers(who),
        )
        assert response.status_code == 201, response.text
        return UUID(response.json()["id"])

    def create_project_response(self, who: str, organization_id: UUID, name: str) -> Any:
        return self.client.post(
            "/v1/projects",
            json={"organization_id": str(organization_id), "name": name, "region": "eu-west"},
            headers=self.headers(who),
        )

    def create_project(self, who: str, organization_id: UUID, name: str) -> dict[str, Any]:
        response = self.create_project_response(who, organization_id, name)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    # -- throwaway targets through the service layer -------------------------------

    def add_member(self, organization_id: UUID, role: Role, who: str | None = None) -> UUID:
        """Make ``who`` (or a fresh user) a member with ``role``; returns the user id."""
        if who is None:
            user = User(
                email=f"member-{uuid.uuid4().hex[:8]}@example.com",
                name="Member",
                password_hash="unused",
                context=SETUP,
            )
            self.app.save(user)
            user_id, email = user.id, user.email
        else:
            user_id = self.user_ids[who]
            email = self.app.load(user_id, User).email
        member = Member(
            organization_id=organization_id,
            user_id=user_id,
            email=email,
            role=str(role),
            context=SETUP,
        )
        if role is Role.OWNER:
            organization = self.app.load(organization_id, Organization)
            organization.add_owner(user_id, SETUP)
            self.app.save(member, organization)
        else:
            self.app.save(member)
        return user_id

    def new_project(self, organization_id: UUID | None = None) -> UUID:
        created = projects.create_project(
            self.app,
            self.digester,
            StorageSecrets(self.settings.storage_secrets_key.get_secret_value()),
            organization_id or self.organization_a,
            self.user_ids["owner"],
            {"name": f"p-{uuid.uuid4().hex[:6]}", "region": "us-east"},
            SETUP,
        )
        return UUID(created.project["id"])

    def new_key_secret(self, project_id: UUID, who: str = "owner") -> str:
        """A new key of the project, as its ``sk_`` secret (to authenticate with)."""
        issued = api_keys.create_key(
            self.app, self.digester, project_id, self.user_ids[who], "media", SETUP
        )
        return issued.secret

    def new_key(self, project_id: UUID, who: str = "owner") -> str:
        issued = api_keys.create_key(
            self.app, self.digester, project_id, self.user_ids[who], "spare", SETUP
        )
        return str(issued.key["id"])

    def new_invitation(self, organization_id: UUID | None = None, who: str = "owner") -> UUID:
        sent = invitations.invite(
            self.app,
            self.digester,
            organization_id or self.organization_a,
            self.user_ids[who],
            f"invitee-{uuid.uuid4().hex[:8]}@example.com",
            Role.VIEWER,
            SETUP,
        )
        return UUID(sent.invitation["id"])

    def new_organization_with_team(self, plan: Plan = Plan.FREE) -> UUID:
        """An organization in which the four role holders have their roles."""
        organization = organizations.create_organization(
            self.app, self.user_ids["owner"], "Team", "ops@example.com", plan, SETUP
        )
        organization_id = UUID(organization["id"])
        for role in ROLES[1:]:
            self.add_member(organization_id, role, who=str(role))
        return organization_id


def build_world(client: TestClient, settings: Settings) -> World:
    world = World(client, settings)
    for who in (*[str(role) for role in ROLES], "outsider"):
        world.sign_up(who)
    world.organization_a = world.create_organization("owner", "Acme Alpha")
    for role in ROLES[1:]:
        world.add_member(world.organization_a, role, who=str(role))
    world.organization_b = world.create_organization("outsider", "Bravo Corp")
    world.project_a = UUID(
        world.create_project("owner", world.organization_a, "alpha-app")["project"]["id"]
    )
    world.project_b = UUID(
        world.create_project("outsider", world.organization_b, "bravo-app")["project"]["id"]
    )
    world.settle()
    return world
