"""Index the egress and ingress read models by status, across projects.

Reconciliation reads every unfinished egress and every live ingress of every
project; without these it would scan both collections each pass.
"""

from __future__ import annotations

from pymongo import ASCENDING

from pulse.migrator import MigrationContext


def apply(context: MigrationContext) -> None:
    database = context.database
    database["rm_egresses"].create_index([("status", ASCENDING)])
    database["rm_ingresses"].create_index([("status", ASCENDING), ("deleted", ASCENDING)])
