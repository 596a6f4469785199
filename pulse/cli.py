"""The ``pulse`` command: run the API or the worker, apply migrations, manage projections."""

from __future__ import annotations

from typing import Annotated

import typer
from pymongo.errors import PyMongoError

from pulse.billing_cli import billing_app
from pulse.config import get_settings
from pulse.logging import configure_logging
from pulse.migrator import MigrationError, MigrationStatus, Migrator, connect
from pulse.projections.cli import projections_app

app = typer.Typer(
    name="pulse",
    help="Pulse, an open-source control plane for LiveKit.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(projections_app)
app.add_typer(billing_app)


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Interface to bind [PULSE_API_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind [PULSE_API_PORT].")] = None,
) -> None:
    """Serve the HTTP API with uvicorn."""
    import uvicorn

    settings = get_settings()
    configure_logging(settings)
    bind_host = host or settings.api_host
    bind_port = port or settings.api_port
    typer.echo(f"Pulse API listening on http://{bind_host}:{bind_port}")
    uvicorn.run(
        "pulse.api.app:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        # Our logging config and access log (with request ids) replace uvicorn's.
        log_config=None,
        access_log=False,
        server_header=False,
    )


@app.command()
def worker(
    burst: Annotated[
        bool, typer.Option(help="Exit once the queue is empty instead of waiting for jobs.")
    ] = False,
) -> None:
    """Run the background job worker (arq)."""
    from arq.worker import run_worker

    from pulse.workers.settings import worker_options

    settings = get_settings()
    configure_logging(settings)
    typer.echo(f"Pulse worker consuming queue {settings.worker_queue_name!r}")
    options = worker_options(settings)
    if burst:
        # Drain the queue and exit: schedules (some every second) would keep it busy for ever.
        options["cron_jobs"] = []
    run_worker(options, burst=burst)


@app.command()
def migrate(
    status: Annotated[
        bool, typer.Option("--status", help="List applied and pending migrations; apply none.")
    ] = False,
) -> None:
    """Apply pending database migrations, in version order."""
    if status:
        migrations()
        return
    settings = get_settings()
    configure_logging(settings)
    try:
        with connect(settings) as database:
            applied = Migrator(database, settings).migrate()
    except (MigrationError, PyMongoError) as exc:
        typer.echo(f"Migration failed: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    if not applied:
        typer.echo("No pending migrations.")
    for script in applied:
        typer.echo(f"Applied {script.id}")


@app.command()
def migrations() -> None:
    """List migrations: applied, pending, changed since applied, or missing."""
    settings = get_settings()
    configure_logging(settings)
    try:
        with connect(settings) as database:
            statuses = Migrator(database, settings).status()
    except (MigrationError, PyMongoError) as exc:
        typer.echo(f"Cannot read migrations: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"Database {settings.mongo_database!r}:")
    for entry in statuses:
        typer.echo(_status_line(entry))
    pending = sum(entry.state == "pending" for entry in statuses)
    typer.echo(f"{len(statuses) - pending} applied, {pending} pending.")


def _status_line(entry: MigrationStatus) -> str:
    when = f"  {entry.applied_at:%Y-%m-%dT%H:%M:%SZ}" if entry.applied_at else ""
    return f"  {entry.state:<8} {entry.id}{when}"


if __name__ == "__main__":
    app()
