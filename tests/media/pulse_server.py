"""Pulse served by uvicorn on 127.0.0.1:8099, where the test livekit-server sends webhooks.

``.services/run/livekit.yaml`` names this address as a webhook URL, so a test that
serves Pulse here receives LiveKit's real, signed webhooks. Only one server can hold
the port: use it from one module-scoped fixture at a time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

HOST = "127.0.0.1"
PORT = 8099
BASE_URL = f"http://{HOST}:{PORT}"


def _port_open() -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((HOST, PORT)) == 0


@contextmanager
def serving(app: FastAPI, timeout: float = 15.0) -> Iterator[str]:
    """Serve ``app`` on the webhook port while the block runs; yields its base URL."""
    if _port_open():
        raise RuntimeError(f"{BASE_URL} is already taken: another Pulse test server runs")
    config = uvicorn.Config(app, host=HOST, port=PORT, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="pulse-8099", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"Pulse did not start on {BASE_URL}")
        time.sleep(0.05)
    try:
        yield BASE_URL
    finally:
        server.should_exit = True
        thread.join(timeout)
