from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.management.conftest import world_on
from tests.management.world import World


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One world per test module: building it signs five users up (argon2 is slow)."""
    with world_on() as built:
        yield built
