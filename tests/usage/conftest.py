from tests.projections.fixtures import database, migrated, options, pulse_app

__all__ = ["database", "migrated", "options", "pulse_app"]
