from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.billing.helpers import STRIPE_MOCK_URL, STRIPE_TEST_KEY
from tests.management.conftest import fresh_database, management_settings, world_on
from tests.management.world import World


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """A tenant world whose server talks to stripe-mock (``scripts/services.sh up``)."""
    settings = management_settings(
        fresh_database(), stripe_api_key=STRIPE_TEST_KEY, stripe_api_base=STRIPE_MOCK_URL
    )
    with world_on(settings) as built:
        yield built
