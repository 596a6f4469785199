"""Log output: JSON lines on stdout, with the request id, never with secrets."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from pulse.config import Settings
from pulse.logging import configure_logging, get_logger


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_every_line_logged_during_a_request_carries_its_id(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    client.get("/_test/log", headers={"X-Request-ID": "trace-me-7"})

    lines = json_lines(capsys.readouterr().out)
    inside = [line for line in lines if line["event"] == "inside_endpoint"]
    access = [line for line in lines if line["event"] == "request"]
    assert len(inside) == 1
    assert inside[0]["request_id"] == "trace-me-7"
    assert inside[0]["note"] == "hello"
    assert len(access) == 1
    assert access[0]["request_id"] == "trace-me-7"
    assert access[0]["method"] == "GET"
    assert access[0]["path"] == "/_test/log"
    assert access[0]["status"] == 200
    assert access[0]["duration_ms"] >= 0
    assert access[0]["level"] == "info"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", access[0]["timestamp"])


def test_credentials_in_headers_are_not_logged(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client.get(
        "/_test/boom?token=query-secret",
        headers={"Authorization": "Bearer header-secret", "X-Pulse-Key": "key-secret"},
    )

    output = capsys.readouterr().out
    assert "header-secret" not in output
    assert "key-secret" not in output
    assert "query-secret" not in output  # The access line has the path, not the query.


def test_sensitive_fields_are_redacted_at_any_depth(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(settings)

    get_logger("tests").info(
        "outgoing_call",
        headers={"Authorization": "Bearer abc", "X-Pulse-Key": "k1", "Accept": "json"},
        password="p1",
        livekit_api_secret=settings.livekit_api_secret,
        api_secret=SecretStr("s3"),
    )

    (line,) = json_lines(capsys.readouterr().out)
    assert line["headers"] == {
        "Authorization": "[redacted]",
        "X-Pulse-Key": "[redacted]",
        "Accept": "json",
    }
    assert line["password"] == "[redacted]"
    assert line["livekit_api_secret"] == "[redacted]"
    assert line["api_secret"] == "[redacted]"
    rendered = json.dumps(line)
    for secret in ("abc", "k1", "p1", "s3"):
        assert secret not in rendered


def test_secret_settings_stay_masked_when_logged_whole(
    make_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = {
        "livekit_api_secret": "lk-secret-value-1",
        "jwt_secret": "jwt-secret-value-2",
        "credential_pepper": "pepper-secret-value-3",
    }
    settings = make_settings(**secrets)
    configure_logging(settings)

    get_logger("tests").info("settings_loaded", config=settings)

    output = capsys.readouterr().out
    for value in secrets.values():
        assert value not in output
    assert settings.mongo_uri not in output


def test_stdlib_loggers_share_the_format_and_level(
    make_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    configure_logging(make_settings(log_level="warning"))

    logging.getLogger("some.library").info("hidden")
    logging.getLogger("some.library").warning("shown %s", "here")
    get_logger("tests").info("hidden too")

    (line,) = json_lines(capsys.readouterr().out)
    assert line["event"] == "shown here"
    assert line["level"] == "warning"
    assert line["logger"] == "some.library"


def test_console_format_is_not_json(make_settings: Any, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(make_settings(log_format="console"))

    get_logger("tests").info("for_humans", answer=42)

    output = capsys.readouterr().out
    assert "for_humans" in output
    assert "answer" in output
    assert not output.lstrip().startswith("{")


def test_redaction_reaches_into_lists_and_keeps_positional_arguments(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    configure_logging(settings)

    get_logger("tests").info("calls", calls=[{"token": "t1", "url": "/a"}])
    logging.getLogger("some.library").warning("retrying %s after %d s", "/b", 3)

    first, second = json_lines(capsys.readouterr().out)
    assert first["calls"] == [{"token": "[redacted]", "url": "/a"}]
    assert second["event"] == "retrying /b after 3 s"
