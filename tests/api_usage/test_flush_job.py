"""The worker flushes the API request counters once a minute, as one unique cron job."""

from __future__ import annotations

from typing import Any

from pulse.projections.options import ProjectionSettings
from pulse.workers import metering_jobs
from pulse.workers.settings import FUNCTIONS, cron_jobs_for


def test_the_flush_is_a_worker_function_and_a_unique_cron_of_the_queue(make_settings: Any) -> None:
    settings = make_settings(worker_queue_name="pulse:q")
    names = [getattr(f, "name", getattr(f, "__name__", None)) for f in FUNCTIONS]
    assert "flush_api_counts" in names
    (cron,) = [
        job
        for job in cron_jobs_for(settings, ProjectionSettings(_env_file=None))
        if job.coroutine is metering_jobs.flush_api_counts
    ]
    assert cron.name == "cron:pulse:q:flush_api_counts"
    assert cron.unique
    assert cron.second == {30}
    assert cron.minute is None  # Every minute.
