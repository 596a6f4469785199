"""What a job finds in arq's context dict, with typed accessors."""

from __future__ import annotations

from typing import Any, cast

from pulse.clients import Clients
from pulse.config import Settings

JobContext = dict[str, Any]
"""arq's per-worker context; arq also adds job_id, job_try, enqueue_time, redis."""

SETTINGS_KEY = "settings"
CLIENTS_KEY = "clients"


def settings_of(ctx: JobContext) -> Settings:
    return cast(Settings, ctx[SETTINGS_KEY])


def clients_of(ctx: JobContext) -> Clients:
    return cast(Clients, ctx[CLIENTS_KEY])
