"""The ``pulse`` command, in-process (typer's CliRunner) and as real processes."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq import create_pool
from pymongo import MongoClient
from typer.testing import CliRunner

from pulse.cli import app
from pulse.config import Settings
from pulse.eventstore.schema import SEQUENCE_INDEX
from pulse.migrator import MIGRATIONS_COLLECTION, discover
from pulse.workers.settings import redis_settings_for
from tests.api.servers import free_port

MIGRATIONS = discover(Path(__file__).resolve().parents[1] / "migrations")
runner = CliRunner()


def pulse_command() -> list[str]:
    """The installed console script, as operators run it."""
    script = shutil.which("pulse", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "pulse.cli"]


@pytest.fixture
def database(settings: Settings) -> Iterator[Any]:
    with MongoClient(settings.mongo_uri) as client:
        yield client[settings.mongo_database]


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])

    assert result.exit_code == 0
    for command in ("api", "worker", "migrate", "migrations"):
        assert command in result.output


# --- migrate ---------------------------------------------------------------------------


def test_migrate_twice_applies_then_finds_nothing_pending(
    pulse_env: dict[str, str], database: Any
) -> None:
    first = runner.invoke(app, ["migrate"])
    second = runner.invoke(app, ["migrate"])

    assert first.exit_code == 0, first.output
    assert "Applied 0001_event_store" in first.stdout
    assert second.exit_code == 0, second.output
    assert "No pending migrations." in second.stdout
    assert "Applied" not in second.stdout
    assert database[MIGRATIONS_COLLECTION].count_documents({}) == len(MIGRATIONS)
    assert {"pulse_events", "pulse_snapshots", "pulse_tracking"} <= set(
        database.list_collection_names()
    )
    indexes = {index["name"]: index for index in database["pulse_events"].list_indexes()}
    assert indexes[SEQUENCE_INDEX]["unique"] is True


def test_migrate_status_lists_pending_then_applied(pulse_env: dict[str, str]) -> None:
    before = runner.invoke(app, ["migrate", "--status"])
    runner.invoke(app, ["migrate"])
    after = runner.invoke(app, ["migrations"])

    assert before.exit_code == 0, before.output
    assert "pending  0001_event_store" in before.stdout
    assert f"0 applied, {len(MIGRATIONS)} pending." in before.stdout
    assert after.exit_code == 0, after.output
    assert "applied  0001_event_store" in after.stdout
    assert f"{len(MIGRATIONS)} applied, 0 pending." in after.stdout


def test_migrate_exits_non_zero_when_a_migration_fails(
    pulse_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pulse.config import get_settings

    (tmp_path / "0001_broken.py").write_text("def apply(context):\n    raise RuntimeError('x')\n")
    monkeypatch.setenv("PULSE_MIGRATIONS_DIR", str(tmp_path))
    get_settings.cache_clear()

    result = runner.invoke(app, ["migrate"])

    assert result.exit_code == 1
    assert "Migration failed: 0001_broken failed" in result.stderr


def test_two_concurrent_migrate_processes_apply_each_migration_once(
    pulse_env: dict[str, str], database: Any, tmp_path: Path
) -> None:
    for name in ("0001_first", "0002_second"):
        (tmp_path / f"{name}.py").write_text(
            "import time\n\n\ndef apply(context):\n"
            f"    context.database['applications'].insert_one({{'migration': '{name}'}})\n"
            "    time.sleep(1.0)\n"
        )
    env = {**os.environ, **pulse_env, "PULSE_MIGRATIONS_DIR": str(tmp_path)}

    processes = [
        subprocess.Popen(
            [*pulse_command(), "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    stdout = "".join(out for out, _ in outputs)
    assert stdout.count("Applied 0001_first") == 1
    assert stdout.count("Applied 0002_second") == 1
    assert stdout.count("No pending migrations.") == 1
    assert database["applications"].count_documents({"migration": "0001_first"}) == 1
    assert database["applications"].count_documents({"migration": "0002_second"}) == 1
    assert database[MIGRATIONS_COLLECTION].count_documents({}) == 2


# --- api and worker --------------------------------------------------------------------


def wait_for_health(base_url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"pulse api exited early:\n{process.communicate()[0]}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail("pulse api did not answer /health within 30 s")


def test_api_command_serves_the_app_and_logs_json(pulse_env: dict[str, str]) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [*pulse_command(), "api", "--port", str(port)],
        env={**os.environ, **pulse_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_health(base_url, process)
        ready = httpx.get(f"{base_url}/ready", headers={"X-Request-ID": "cli-api-1"}, timeout=5)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)

    assert ready.status_code == 200, ready.text
    assert ready.headers["x-request-id"] == "cli-api-1"
    assert process.returncode == 0, output
    lines = output.splitlines()
    assert lines[0] == f"Pulse API listening on {base_url}"
    records = [json.loads(line) for line in lines if line.startswith("{")]
    events = [record["event"] for record in records]
    assert "api_started" in events
    assert "api_stopping" in events
    access = [record for record in records if record.get("request_id") == "cli-api-1"]
    assert access
    assert access[-1]["path"] == "/ready"
    assert access[-1]["status"] == 200


def test_worker_command_runs_a_queued_ping_in_burst_mode(
    pulse_env: dict[str, str], settings: Settings
) -> None:
    job_id = f"{settings.worker_queue_name}:{uuid.uuid4().hex}"

    async def enqueue() -> None:
        pool = await create_pool(redis_settings_for(settings))
        await pool.enqueue_job("ping", _job_id=job_id, _queue_name=settings.worker_queue_name)
        await pool.aclose()

    async def result_and_cleanup() -> Any:
        pool = await create_pool(redis_settings_for(settings))
        try:
            results = {result.job_id: result for result in await pool.all_job_results()}
            return results[job_id]
        finally:
            keys = [key async for key in pool.scan_iter(match=f"*{settings.worker_queue_name}*")]
            if keys:
                await pool.delete(*keys)
            await pool.aclose()

    asyncio.run(enqueue())
    completed = subprocess.run(
        [*pulse_command(), "worker", "--burst"],
        env={**os.environ, **pulse_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    result = asyncio.run(result_and_cleanup())

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"consuming queue '{settings.worker_queue_name}'" in completed.stdout
    assert result.success
    assert abs(datetime.now(UTC) - datetime.fromisoformat(result.result)) < timedelta(minutes=1)
