"""Private Redis and FerretDB processes that a test may stop, to see readiness fail."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient
from redis import Redis

from pulse.config import PROJECT_ROOT

FERRETDB = PROJECT_ROOT / ".services" / "bin" / "ferretdb"
START_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]


def _launch(name: str, command: list[str], directory: Path, url: str) -> ServerProcess:
    log_path = directory / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    return ServerProcess(name, process, url, log_path)


def _wait_until(server: ServerProcess, answers: Callable[[], bool]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited at start:\n{server.log_tail()}")
        try:
            if answers():
                return
        except Exception:  # Not up yet, whatever the reason.
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.name} did not answer in {START_TIMEOUT_SECONDS} s")


def start_redis(directory: Path) -> ServerProcess:
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is not on PATH (scripts/services.sh up installs it)")
    port = free_port()
    server = _launch(
        "redis",
        [
            executable,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        directory,
        f"redis://127.0.0.1:{port}/0",
    )

    def answers() -> bool:
        with Redis.from_url(server.url, socket_timeout=1) as client:
            return bool(client.ping())

    _wait_until(server, answers)
    return server


def start_ferretdb(directory: Path) -> ServerProcess:
    if not FERRETDB.exists():
        raise RuntimeError(f"{FERRETDB} is missing (scripts/services.sh up builds it)")
    port = free_port()
    server = _launch(
        "ferretdb",
        [
            str(FERRETDB),
            "--handler=sqlite",
            f"--sqlite-url=file:{directory}/",
            f"--listen-addr=127.0.0.1:{port}",
            "--debug-addr=-",
            "--telemetry=disable",
            f"--state-dir={directory}",
            "--log-level=warn",
        ],
        directory,
        f"mongodb://127.0.0.1:{port}",
    )

    def answers() -> bool:
        with MongoClient(server.url, serverSelectionTimeoutMS=500) as client:
            return client.admin.command("ping").get("ok") == 1

    _wait_until(server, answers)
    return server
