"""Jobs under construction (issue 4)."""

from __future__ import annotations

from arq.cron import CronJob
from arq.typing import WorkerCoroutine
from arq.worker import Function

from pulse.config import Settings

JOBS: tuple[WorkerCoroutine | Function, ...] = ()


def crons(settings: Settings) -> list[CronJob]:
    return []
