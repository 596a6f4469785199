"""``pulse projections list | catch-up | rebuild`` against this test's database."""

from __future__ import annotations

from pymongo.database import Database
from typer.testing import CliRunner

from pulse.cli import app
from pulse.projections.model import Document
from pulse.projections.registry import PROJECTIONS
from pulse.services.application import PulseApplication
from tests.projections.scenario import build_world, register
from tests.projections.support import snapshot

runner = CliRunner()


def test_help_lists_the_projection_commands(pulse_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["projections", "--help"])

    assert result.exit_code == 0, result.output
    for command in ("list", "catch-up", "rebuild"):
        assert command in result.output


def test_list_shows_positions_and_lag(
    pulse_env: dict[str, str], pulse_app: PulseApplication
) -> None:
    register(pulse_app, "a@example.test")
    register(pulse_app, "b@example.test")

    before = runner.invoke(app, ["projections", "list"])
    runner.invoke(app, ["projections", "catch-up", "users"])
    after = runner.invoke(app, ["projections", "list"])

    assert before.exit_code == 0, before.output
    lines = {line.split()[0]: line.split() for line in before.stdout.splitlines() if line}
    assert lines["users"][1:3] == ["0", "2"]
    assert lines["projects"][1:3] == ["0", "2"]
    assert "Newest notification: 2" in before.stdout
    lines = {line.split()[0]: line.split() for line in after.stdout.splitlines() if line}
    assert lines["users"][1:3] == ["2", "0"]
    assert lines["members"][1:3] == ["0", "2"]


def test_catch_up_applies_every_projection(
    pulse_env: dict[str, str], pulse_app: PulseApplication, database: Database[Document]
) -> None:
    build_world(pulse_app)

    result = runner.invoke(app, ["projections", "catch-up"])

    assert result.exit_code == 0, result.output
    assert "users" in result.stdout
    assert "3 events applied" in result.stdout
    assert database["rm_api_keys"].count_documents({}) == 5
    assert database["rm_invitations"].count_documents({}) == 3


def test_rebuild_one_and_all_reproduce_the_documents(
    pulse_env: dict[str, str], pulse_app: PulseApplication, database: Database[Document]
) -> None:
    build_world(pulse_app)
    runner.invoke(app, ["projections", "catch-up"])
    before = snapshot(database)

    one = runner.invoke(app, ["projections", "rebuild", "projects"])
    every = runner.invoke(app, ["projections", "rebuild", "--all"])

    assert one.exit_code == 0, one.output
    assert "projects" in one.stdout
    assert "rebuilt" in one.stdout
    assert every.exit_code == 0, every.output
    assert every.stdout.count("rebuilt, at") == len(PROJECTIONS)
    assert snapshot(database) == before


def test_rebuild_needs_a_name_or_all(pulse_env: dict[str, str]) -> None:
    neither = runner.invoke(app, ["projections", "rebuild"])
    both = runner.invoke(app, ["projections", "rebuild", "users", "--all"])

    assert neither.exit_code == 2
    assert both.exit_code == 2
    assert "--all" in neither.stderr


def test_an_unknown_projection_is_an_error(
    pulse_env: dict[str, str], pulse_app: PulseApplication
) -> None:
    result = runner.invoke(app, ["projections", "catch-up", "nope"])

    assert result.exit_code == 1
    assert "No projection named 'nope'" in result.stderr
    assert "users" in result.stderr
