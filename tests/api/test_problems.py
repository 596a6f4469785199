"""Every error is an RFC 9457 problem document, with the request id and no internals."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.support import app_client

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, title: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["cache-control"] == "no-store"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["title"] == title
    assert problem["type"]
    assert problem["detail"]
    assert problem["request_id"] == response.headers["x-request-id"]
    return problem


def test_unknown_route_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/no/such/route")

    problem = assert_problem(response, 404, "Not Found")
    assert problem["type"] == "about:blank"
    assert problem["instance"] == "/no/such/route"


def test_wrong_method_is_a_405_problem_with_allow(client: TestClient) -> None:
    response = client.post("/health")

    assert_problem(response, 405, "Method Not Allowed")
    assert response.headers["allow"] == "GET"


def test_invalid_query_parameter_is_a_422_problem_listing_fields(client: TestClient) -> None:
    response = client.get("/_test/search", params={"limit": "many"})

    problem = assert_problem(response, 422, "Unprocessable Entity")
    assert problem["type"] == "/problems/validation-error"
    assert problem["instance"] == "/_test/search"
    assert problem["errors"] == [
        {
            "loc": ["query", "limit"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "type": "int_parsing",
        }
    ]


def test_invalid_body_lists_every_field_without_echoing_input(client: TestClient) -> None:
    response = client.post("/_test/items", json={"name": "", "quantity": 0})

    problem = assert_problem(response, 422, "Unprocessable Entity")
    assert {tuple(error["loc"]) for error in problem["errors"]} == {
        ("body", "name"),
        ("body", "quantity"),
    }
    assert all(set(error) == {"loc", "msg", "type"} for error in problem["errors"])
    assert "2 invalid" in problem["detail"]


def test_malformed_json_is_a_422_problem(client: TestClient) -> None:
    response = client.post(
        "/_test/items", content=b"{not json", headers={"content-type": "application/json"}
    )

    problem = assert_problem(response, 422, "Unprocessable Entity")
    assert problem["errors"][0]["type"] == "json_invalid"


def test_unhandled_error_is_a_500_problem_without_internals(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = client.get("/_test/boom", headers={"X-Request-ID": "boom-1"})

    problem = assert_problem(response, 500, "Internal Server Error")
    assert problem["request_id"] == "boom-1"
    text = response.text
    assert "hunter2" not in text
    assert "RuntimeError" not in text
    assert "Traceback" not in text
    # The traceback goes to the log instead, tied to the request id.
    logged = capsys.readouterr().out
    assert "hunter2" in logged
    assert "Traceback" in logged


def test_oversized_body_is_a_413_problem(make_settings: Any) -> None:
    with app_client(make_settings(max_request_body_bytes=64)) as client:
        declared = client.post("/_test/items", content=b"x" * 65)

        def chunks() -> Any:
            yield b'{"name": "'
            yield b"y" * 100
            yield b'", "quantity": 1}'

        streamed = client.post(
            "/_test/items", content=chunks(), headers={"content-type": "application/json"}
        )
        small = client.post("/_test/items", json={"name": "a", "quantity": 1})

    assert_problem(declared, 413, "Request Entity Too Large")
    assert_problem(streamed, 413, "Request Entity Too Large")
    assert small.status_code == 200
