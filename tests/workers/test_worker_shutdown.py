"""A worker stopped in the middle of a projection run leaves nothing behind.

arq cancels the running job on SIGINT/SIGTERM, but the job's thread (synchronous
PyMongo) runs on; the worker must let it finish before closing its clients, or the
projection's lock would stall that projection for ``lock_stale_seconds``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Any

from pymongo.database import Database

from pulse.domain.user import User
from pulse.projections.model import Document
from pulse.services.application import PulseApplication
from tests.projections.fixtures import database, migrated, pulse_app
from tests.projections.scenario import CTX
from tests.test_cli import pulse_command

__all__ = ["database", "migrated", "pulse_app"]

USERS = 1500  # Enough for a catch-up of several seconds on FerretDB.


def _wait_for(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_worker_stopped_mid_projection_releases_its_locks(
    pulse_env: dict[str, str], pulse_app: PulseApplication, database: Database[Document]
) -> None:
    users = [
        User(email=f"u{n}@example.com", name="U", password_hash="h", context=CTX)
        for n in range(USERS)
    ]
    for start in range(0, USERS, 250):
        pulse_app.save(*users[start : start + 250])
    locks = database["projection_locks"]

    worker = subprocess.Popen(
        [*pulse_command(), "worker"],
        env={**os.environ, **pulse_env, "PULSE_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        running = _wait_for(
            lambda: locks.count_documents({"_id": {"$regex": "^projection:"}}) > 0, 60
        )
        assert running, "the worker never started a projection run"
        worker.send_signal(signal.SIGINT)
        assert worker.wait(timeout=90) == 0, worker.stderr.read() if worker.stderr else ""
    finally:
        if worker.poll() is None:
            worker.kill()

    assert locks.count_documents({"_id": {"$regex": "^projection:"}}) == 0
    assert database["rm_users"].count_documents({}) > 0
