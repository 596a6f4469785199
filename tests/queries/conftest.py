from collections.abc import AsyncIterator

import pytest

from pulse.clients import Clients, open_clients
from pulse.config import Settings
from tests.projections.fixtures import database, migrated, options, pulse_app

__all__ = ["anyio_backend", "clients", "database", "migrated", "options", "pulse_app"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def clients(migrated: Settings) -> AsyncIterator[Clients]:
    async with open_clients(migrated, app_name="pulse-test") as opened:
        yield opened
