from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.management.conftest import world_on
from tests.management.world import World


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """A tenant world (see tests/management/world.py) on its own database and prefix."""
    with world_on() as built:
        yield built
