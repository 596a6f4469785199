"""The ``pulse`` command as operators run it: a separate process on the test's database.

``pulse billing recompute`` and ``pulse projections rebuild usage`` are run through
``python -m pulse.cli``. Until the lead registers the ``billing`` command group and the
``usage`` projection (shared files), the same code is reached the nearest way: the
``billing`` typer app itself, and the projections CLI with ``usage`` added to the
registry in that process only. ``registered()`` says which way ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from pulse.cli import app as pulse_app
from pulse.config import Settings
from pulse.projections.registry import PROJECTIONS

_BILLING_APP = (
    "from pulse.billing_cli import billing_app; from pulse.cli import app;"
    "app.add_typer(billing_app, name='billing'); app(prog_name='pulse')"
)
_WITH_USAGE = (
    "import pulse.projections.registry as r; from pulse.projections import usage;"
    "r.PROJECTIONS = (*r.PROJECTIONS, usage.PROJECTION);"
    "from pulse.cli import app; app(prog_name='pulse')"
)


def billing_registered() -> bool:
    return any(group.name == "billing" for group in pulse_app.registered_groups)


def usage_registered() -> bool:
    return any(projection.name == "usage" for projection in PROJECTIONS)


def registered() -> dict[str, bool]:
    return {"billing command": billing_registered(), "usage projection": usage_registered()}


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PULSE_ENVIRONMENT": "test",
        "PULSE_MONGO_URI": settings.mongo_uri,
        "PULSE_MONGO_DATABASE": settings.mongo_database,
        "PULSE_REDIS_URL": settings.redis_url,
        "PULSE_REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "PULSE_LIVEKIT_URL": str(settings.livekit_url),
        "PULSE_WORKER_QUEUE_NAME": settings.worker_queue_name,
        "PULSE_LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


def recompute_command(project: Any, period: str) -> list[str]:
    args = ["billing", "recompute", "--project", str(project), "--period", period]
    if billing_registered():
        return [sys.executable, "-m", "pulse.cli", *args]
    return [sys.executable, "-c", _BILLING_APP, *args]


def rebuild_usage_command() -> list[str]:
    args = ["projections", "rebuild", "usage"]
    if usage_registered():
        return [sys.executable, "-m", "pulse.cli", *args]
    return [sys.executable, "-c", _WITH_USAGE, *args]


def run(
    command: list[str], settings: Settings, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        env=environment(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start(command: list[str], settings: Settings, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command,
        env=environment(settings, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
