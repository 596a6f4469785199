"""Fixtures for tests of the read side: a migrated database, a real ``PulseApplication``.

Imported by the conftest of each test package that needs them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymongo.database import Database

from pulse.config import Settings
from pulse.migrator import Migrator, connect
from pulse.projections.model import Document
from pulse.projections.options import ProjectionSettings
from pulse.projections.store import read_model_database
from pulse.services.application import PulseApplication, create_application


@pytest.fixture
def migrated(settings: Settings) -> Settings:
    with connect(settings) as database:
        Migrator(database, settings).migrate()
    return settings


@pytest.fixture
def pulse_app(migrated: Settings) -> Iterator[PulseApplication]:
    application = create_application(migrated)
    yield application
    application.close()


@pytest.fixture
def database(pulse_app: PulseApplication) -> Database[Document]:
    return read_model_database(pulse_app)


@pytest.fixture
def options() -> ProjectionSettings:
    return ProjectionSettings(_env_file=None)
