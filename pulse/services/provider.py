"""One ``PulseApplication`` per process, built on first use.

Building it touches MongoDB (with ``CREATE_TABLE`` it creates collections), and a
process must start even while MongoDB is down: readiness reports that, not a crash.
"""

from __future__ import annotations

import threading

from pulse.config import Settings
from pulse.services.application import PulseApplication, create_application


class ApplicationProvider:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._application: PulseApplication | None = None
        self._lock = threading.Lock()

    def get(self) -> PulseApplication:
        if self._application is None:
            with self._lock:
                if self._application is None:
                    self._application = create_application(self._settings)
        return self._application

    def close(self) -> None:
        with self._lock:
            if self._application is not None:
                self._application.close()
                self._application = None
