"""Create the event store: events, snapshots and tracking collections, with their indexes."""

from __future__ import annotations

from pulse.eventstore.schema import ensure_event_collection, ensure_tracking_collection
from pulse.migrator import MigrationContext


def apply(context: MigrationContext) -> None:
    name = context.settings.eventstore_name
    ensure_event_collection(context.database, f"{name}_events")
    ensure_event_collection(context.database, f"{name}_snapshots")
    ensure_tracking_collection(context.database, f"{name}_tracking")
