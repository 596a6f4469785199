"""The daily retention job is wired into the worker under its queue's name."""

from __future__ import annotations

from pulse.config import Settings
from pulse.projections.options import ProjectionSettings
from pulse.workers import audit_jobs
from pulse.workers.settings import cron_jobs_for, worker_options


def test_the_prune_runs_once_a_day_under_a_unique_name() -> None:
    settings = Settings(_env_file=None, worker_queue_name="pulse:audit-test")  # type: ignore[call-arg]
    (job,) = audit_jobs.crons(settings)
    assert job.name == "cron:pulse:audit-test:prune_audit_log"
    assert job.unique
    assert job.hour == {audit_jobs.PRUNE_HOUR}
    assert job.minute == {audit_jobs.PRUNE_MINUTE}
    assert job.second == {0}
    names = {cron.name for cron in cron_jobs_for(settings, ProjectionSettings())}
    assert job.name in names
    functions = worker_options(settings)["functions"]
    assert "prune_audit_log" in {getattr(f, "name", getattr(f, "__name__", "")) for f in functions}
