"""Bringing the read models up to date inline (the worker's job), usage and billing included.

Until the lead registers the issue-4 projections (``pulse.projections.registry``), the
``usage`` and ``billing`` projections are taken from their own modules, so these tests
run against them either way.
"""

from __future__ import annotations

import importlib

from pulse.projections.model import Projection
from pulse.projections.registry import PROJECTIONS, UnknownProjectionError, projection_named
from pulse.projections.runner import catch_up
from pulse.projections.store import read_model_database
from tests.management.world import World

_MODULES = {"usage": "pulse.projections.usage", "billing": "pulse.projections.billing"}


def projection(name: str) -> Projection:
    try:
        return projection_named(name)
    except UnknownProjectionError:
        found: Projection = importlib.import_module(_MODULES[name]).PROJECTION
        return found


def settle(world: World) -> None:
    world.settle()
    registered = {p.name for p in PROJECTIONS}
    database = read_model_database(world.app)
    for name in _MODULES:
        if name not in registered:
            try:
                extra = projection(name)
            except ModuleNotFoundError:
                continue  # Not written yet.
            catch_up(extra, world.app, database, world.settings)


def settle_only(world: World, *names: str) -> None:
    """Catch up just these projections: thousands of sessions made for the usage figures
    need not be projected into the room histories (a slow, per-event read model)."""
    database = read_model_database(world.app)
    for name in names:
        catch_up(projection(name), world.app, database, world.settings)
