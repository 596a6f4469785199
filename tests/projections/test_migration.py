"""Migration 0002: read-model collections and the indexes their queries use."""

from __future__ import annotations

import importlib.util

from pymongo.database import Database

from pulse.config import PROJECT_ROOT, Settings
from pulse.migrator import MigrationContext
from pulse.projections.model import Document
from pulse.projections.registry import PROJECTIONS


def apply_0002(database: Database[Document], settings: Settings) -> None:
    path = PROJECT_ROOT / "migrations" / "0002_read_models.py"
    spec = importlib.util.spec_from_file_location("_migration_0002", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.apply(MigrationContext(database=database, settings=settings))


def keys_of(database: Database[Document], collection: str) -> dict[tuple[str, ...], bool]:
    return {
        tuple(name for name, _ in index["key"].items()): bool(index.get("unique"))
        for index in database[collection].list_indexes()
    }


def test_every_read_model_collection_exists_with_its_indexes(
    database: Database[Document],
) -> None:
    # The fixture ran every migration already.
    names = set(database.list_collection_names())
    owned = {name for projection in PROJECTIONS for name in projection.collections}
    assert owned | {"projection_locks"} <= names
    assert keys_of(database, "rm_api_keys")[("digest",)] is True
    assert ("organization_id", "active", "joined_at", "_id") in keys_of(database, "rm_members")
    assert ("user_id", "active") in keys_of(database, "rm_members")
    assert ("organization_id", "created_at", "_id") in keys_of(database, "rm_projects")
    assert ("organization_id", "created_at", "_id") in keys_of(database, "rm_invitations")


def test_applying_it_again_changes_nothing(
    database: Database[Document], migrated: Settings
) -> None:
    before = {name: keys_of(database, name) for name in database.list_collection_names()}

    apply_0002(database, migrated)

    after = {name: keys_of(database, name) for name in database.list_collection_names()}
    assert after == before
