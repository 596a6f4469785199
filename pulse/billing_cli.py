"""``pulse billing ...``: check billing figures against the event store.

``recompute`` exits 0 when the stored usage buckets and invoice of the period match
what the events give, 1 when anything differs (each difference printed), and 2 when
it cannot run (unknown project, malformed period, store unreachable).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer
from eventsourcing.persistence import PersistenceError
from pymongo.errors import PyMongoError

from pulse.config import get_settings
from pulse.domain.metering import period_bounds
from pulse.logging import configure_logging
from pulse.projections.store import read_model_database
from pulse.services.application import create_application
from pulse.services.billing_recompute import recompute, render
from pulse.services.errors import NotFoundError

billing_app = typer.Typer(
    name="billing",
    help="Billing checks: recompute a period's usage and invoice from the events.",
    no_args_is_help=True,
)

_CANNOT_RUN = 2


@billing_app.command("recompute")
def recompute_command(
    project: Annotated[UUID, typer.Option("--project", help="The project's id.")],
    period: Annotated[str, typer.Option("--period", help="The billing period, YYYY-MM (UTC).")],
) -> None:
    """Rebuild a period's usage and invoice from the event store alone; report differences."""
    try:
        period_bounds(period)
    except ValueError:
        typer.echo(f"Cannot recompute: the period must be YYYY-MM, not {period!r}", err=True)
        raise typer.Exit(code=_CANNOT_RUN) from None
    settings = get_settings()
    configure_logging(settings)
    pulse = create_application(settings)
    try:
        report = recompute(pulse, read_model_database(pulse), settings, project, period)
    except (NotFoundError, LookupError) as exc:
        typer.echo(f"Cannot recompute: {exc}", err=True)
        raise typer.Exit(code=_CANNOT_RUN) from exc
    except (PyMongoError, PersistenceError) as exc:
        typer.echo(f"Recompute failed: {exc}", err=True)
        raise typer.Exit(code=_CANNOT_RUN) from exc
    finally:
        pulse.close()
    for line in render(report):
        typer.echo(line)
    if report.has_differences:
        raise typer.Exit(code=1)
