"""Fixtures for the auth tests: the real API on FerretDB and Redis.

Each test has its own database (dropped afterwards by ``tests/conftest.py``) and its
own Redis key prefix (its keys deleted afterwards).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pymongo import MongoClient
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from pulse.api.app import create_app
from pulse.config import Settings
from pulse.domain.context import CommandContext
from pulse.domain.organization import Organization
from pulse.domain.project import Project
from pulse.projections.collections import API_KEYS
from pulse.services.api_key_auth import cache_project_keys, forget_cached_keys
from pulse.services.application import PulseApplication, create_application
from pulse.services.clock import utc_now
from pulse.services.credentials import digester_of, new_key_id
from tests.conftest import MONGO_URI, REDIS_URL

T = TypeVar("T")

PASSWORD = "correct horse battery staple"
CONTEXT = CommandContext.system("tests")


@pytest.fixture
def key_prefix(database_name: str) -> Iterator[str]:
    prefix = f"pulse:test:{database_name}:"
    yield prefix
    with SyncRedis.from_url(REDIS_URL) as redis:
        keys = list(redis.scan_iter(match=f"{prefix}*"))
        if keys:
            redis.delete(*keys)


@pytest.fixture
def auth_settings(make_settings: Callable[..., Settings], key_prefix: str) -> Settings:
    return make_settings(redis_key_prefix=key_prefix)


def build_auth_app(settings: Settings) -> FastAPI:
    app = create_app(settings)

    @app.get("/_test/hooks")
    async def hooks(request: Request) -> dict[str, Any]:
        # What the middleware hooks answer for this request's headers.
        project = await request.app.state.rate_limit_project(request)
        return {
            "idempotency_scope": request.app.state.idempotency_scope(request),
            "rate_limit_project": project,
        }

    return app


@pytest.fixture
def make_client(auth_settings: Settings) -> Iterator[Callable[..., TestClient]]:
    """A started client for an app with ``auth_settings`` (or the given settings)."""
    clients: list[TestClient] = []

    def make(settings: Settings | None = None) -> TestClient:
        client = TestClient(build_auth_app(settings or auth_settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def pulse_app(auth_settings: Settings) -> Iterator[PulseApplication]:
    """The event-sourced application, as the tests' own handle on the store."""
    application = create_application(auth_settings)
    yield application
    application.close()


def run_with_redis(settings: Settings, action: Callable[[Redis], Awaitable[T]]) -> T:
    """Run an async Redis action (the cache helpers) from a synchronous test."""

    async def main() -> T:
        redis = Redis.from_url(settings.redis_url)
        try:
            return await action(redis)
        finally:
            await redis.aclose()

    return asyncio.run(main())


def sign_up(client: TestClient, email: str = "ada@example.com", **extra: Any) -> dict[str, Any]:
    response = client.post(
        "/v1/auth/signup",
        json={"email": email, "name": "Ada Lovelace", "password": PASSWORD, **extra},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(key_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()}


@dataclass
class ProjectKeys:
    """A project made through the domain, with its keys' read-model documents."""

    settings: Settings
    app: PulseApplication
    project_id: UUID
    organization_id: UUID = field(default_factory=uuid4)
    secrets: dict[str, str] = field(default_factory=dict)  # key id -> secret

    def load(self) -> Project:
        return self.app.load(self.project_id, Project)

    def digest(self, key_id: str) -> str:
        return digester_of(self.settings).digest(self.secrets[key_id])

    def index(self, key_id: str) -> None:
        """What the ``rm_api_keys`` projection writes for a key."""
        document: dict[str, Any] = {
            "_id": key_id,
            "project_id": str(self.project_id),
            "organization_id": str(self.organization_id),
            "name": "default",
            "digest": self.digest(key_id),
        }
        with MongoClient[dict[str, Any]](MONGO_URI, uuidRepresentation="standard") as mongo:
            mongo[self.settings.mongo_database][API_KEYS].insert_one(document)

    def add_key(self) -> str:
        issued = digester_of(self.settings).new_api_secret()
        key_id = new_key_id()
        project = self.load()
        project.add_key(key_id, "default", issued.digest, utc_now(), CONTEXT)
        self.app.save(project)
        self.secrets[key_id] = issued.token
        self.index(key_id)
        return key_id

    def change(self, command: Callable[[Project], None]) -> Project:
        """A key-management command as the key routes run it: forget, save, re-cache."""
        project = self.load()
        digests = [key.digest for key in project.keys.values()]
        run_with_redis(
            self.settings,
            lambda redis: forget_cached_keys(
                redis, digests, key_prefix=self.settings.redis_key_prefix
            ),
        )
        command(project)
        self.app.save(project)
        run_with_redis(
            self.settings, lambda redis: cache_project_keys(redis, self.settings, project)
        )
        return project


@pytest.fixture
def project_keys(auth_settings: Settings, pulse_app: PulseApplication) -> ProjectKeys:
    # A key is only as good as its organization, so the project needs a real one.
    organization = Organization(
        name="Demo",
        admin_email="ops@example.com",
        plan="free",
        creator_id=uuid4(),
        context=CONTEXT,
    )
    organization_id = organization.id
    pulse_app.save(organization)
    project = Project(
        organization_id=organization_id,
        name="demo",
        region="eu-west",
        webhook_url=None,
        storage=None,
        context=CONTEXT,
    )
    pulse_app.save(project)
    return ProjectKeys(
        settings=auth_settings,
        app=pulse_app,
        project_id=project.id,
        organization_id=organization_id,
    )
