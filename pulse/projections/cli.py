"""``pulse projections ...``: inspect, catch up and rebuild the read models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
from eventsourcing.persistence import PersistenceError
from pymongo.errors import PyMongoError

from pulse.config import Settings, get_settings
from pulse.logging import configure_logging
from pulse.projections.lock import ProjectionBusyError
from pulse.projections.model import Projection
from pulse.projections.registry import PROJECTIONS, UnknownProjectionError, projection_named
from pulse.projections.runner import CatchUpResult, ProjectionsFailedError, catch_up, rebuild
from pulse.projections.status import projection_statuses
from pulse.projections.store import read_model_database
from pulse.services.application import PulseApplication, create_application

T = TypeVar("T")

projections_app = typer.Typer(
    name="projections",
    help="Read models built from the event stream: status, catch-up, rebuild.",
    no_args_is_help=True,
)

_FAILURES = (
    PyMongoError,
    PersistenceError,
    ProjectionBusyError,
    ProjectionsFailedError,
    UnknownProjectionError,
)


@contextmanager
def _application(settings: Settings) -> Iterator[PulseApplication]:
    pulse = create_application(settings)
    try:
        yield pulse
    finally:
        pulse.close()


def _run(action: Callable[[Settings], T]) -> T:
    """Run ``action`` under the process settings; a failure exits 1 with its message."""
    settings = get_settings()
    configure_logging(settings)
    try:
        return action(settings)
    except _FAILURES as exc:
        typer.echo(f"Projections failed: {exc}", err=True)
        raise typer.Exit(code=1) from exc


def _selected(name: str | None) -> tuple[Projection, ...]:
    return PROJECTIONS if name is None else (projection_named(name),)


def _result_line(result: CatchUpResult) -> str:
    if result.busy:
        return f"  {result.name:<14} busy (another runner holds it), at {result.position}"
    return f"  {result.name:<14} at {result.position} ({result.applied} events applied)"


@projections_app.command("list")
def list_projections() -> None:
    """Each projection's position in the event log and how far behind it is."""

    def show(settings: Settings) -> None:
        with _application(settings) as pulse:
            statuses = projection_statuses(pulse, settings)
        typer.echo(f"{'name':<14} {'position':>10} {'lag':>8}  collections")
        for status in statuses:
            collections = ", ".join(status.collections)
            typer.echo(f"{status.name:<14} {status.position:>10} {status.lag:>8}  {collections}")
        newest = statuses[0].newest if statuses else 0
        typer.echo(f"Newest notification: {newest}")

    _run(show)


@projections_app.command("catch-up")
def catch_up_command(
    name: Annotated[str | None, typer.Argument(help="One projection; all if omitted.")] = None,
) -> None:
    """Apply the events each projection has not seen yet."""

    def run(settings: Settings) -> None:
        projections = _selected(name)
        failed: list[str] = []
        with _application(settings) as pulse:
            database = read_model_database(pulse)
            for projection in projections:
                try:
                    result = catch_up(projection, pulse, database, settings)
                except Exception as exc:  # Report it, run the others, then fail.
                    typer.echo(f"  {projection.name:<14} failed: {exc!r}", err=True)
                    failed.append(projection.name)
                    continue
                typer.echo(_result_line(result))
        if failed:
            raise ProjectionsFailedError(", ".join(failed))

    _run(run)


@projections_app.command("rebuild")
def rebuild_command(
    name: Annotated[str | None, typer.Argument(help="The projection to rebuild.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Rebuild every projection.")] = False,
) -> None:
    """Empty a projection's collections (indexes stay), forget its position, replay all."""
    if (name is None) == (not all_):
        typer.echo("Name one projection, or pass --all.", err=True)
        raise typer.Exit(code=2)

    def run(settings: Settings) -> None:
        projections = _selected(name)
        with _application(settings) as pulse:
            database = read_model_database(pulse)
            for projection in projections:
                result = rebuild(projection, pulse, database, settings)
                typer.echo(_result_line(result).replace(" at ", " rebuilt, at ", 1))

    _run(run)
