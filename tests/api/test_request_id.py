from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from pulse.api.context import choose_request_id


def test_a_sane_incoming_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "req-42.a_B"})

    assert response.headers["x-request-id"] == "req-42.a_B"


def test_a_request_id_is_generated_when_none_is_given(client: TestClient) -> None:
    first = client.get("/health").headers["x-request-id"]
    second = client.get("/health").headers["x-request-id"]

    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


@pytest.mark.parametrize(
    "incoming",
    ["", "has space", "x" * 129, 'quote"d', "new\nline", "semi;colon", "ünïcode"],
)
def test_an_unsafe_request_id_is_replaced(incoming: str) -> None:
    chosen = choose_request_id(incoming)

    assert chosen != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", chosen)


def test_an_unsafe_header_is_replaced_end_to_end(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "a b"})

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_the_longest_allowed_request_id_is_kept() -> None:
    assert choose_request_id("x" * 128) == "x" * 128


def test_errors_carry_the_request_id_header_too(client: TestClient) -> None:
    response = client.get("/nowhere", headers={"X-Request-ID": "err-1"})

    assert response.headers["x-request-id"] == "err-1"
    assert response.json()["request_id"] == "err-1"
