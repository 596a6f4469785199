"""Access tokens: the claims they carry and every way a forged or stale one is refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import jwt
import pytest

from pulse.config import Settings
from pulse.services.access_tokens import (
    CLOCK_SKEW_SECONDS,
    REQUIRED_CLAIMS,
    issue_access_token,
    verify_access_token,
)
from pulse.services.errors import AuthenticationError

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(jwt_secret="t" * 64)


def _secret(settings: Settings) -> str:
    return settings.jwt_secret.get_secret_value()


def _claims(settings: Settings) -> dict[str, Any]:
    token = issue_access_token(settings, uuid4(), uuid4(), NOW).token
    claims: dict[str, Any] = jwt.decode(
        token,
        _secret(settings),
        algorithms=["HS256"],
        options={
            "verify_signature": True,
            "verify_exp": False,
            "verify_aud": False,
            "verify_iat": False,
            "verify_nbf": False,
        },
    )
    return claims


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_token_carries_every_claim_and_verifies(settings: Settings) -> None:
    user_id, session_id = uuid4(), uuid4()
    issued = issue_access_token(settings, user_id, session_id, NOW)

    header = jwt.get_unverified_header(issued.token)
    claims = jwt.decode(
        issued.token,
        _secret(settings),
        algorithms=["HS256"],
        audience="pulse-api",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert header["alg"] == "HS256"
    assert set(REQUIRED_CLAIMS) <= set(claims)
    assert claims["sub"] == str(user_id)
    assert claims["sid"] == str(session_id)
    assert claims["iss"] == "pulse"
    assert claims["aud"] == "pulse-api"
    assert claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] == settings.access_token_ttl_seconds
    assert claims["nbf"] == claims["iat"] == int(NOW.timestamp())
    assert issued.expires_at == NOW + timedelta(seconds=settings.access_token_ttl_seconds)

    verified = verify_access_token(settings, issued.token, NOW)
    assert (verified.user_id, verified.session_id) == (user_id, session_id)
    assert verified.token_id == claims["jti"]


def test_two_tokens_have_distinct_ids(settings: Settings) -> None:
    assert _claims(settings)["jti"] != _claims(settings)["jti"]


def test_an_expired_token_is_refused(settings: Settings) -> None:
    token = issue_access_token(settings, uuid4(), uuid4(), NOW).token
    ttl = timedelta(seconds=settings.access_token_ttl_seconds)

    verify_access_token(settings, token, NOW + ttl - timedelta(seconds=1))
    with pytest.raises(AuthenticationError):
        verify_access_token(settings, token, NOW + ttl)


def test_a_token_from_the_future_is_refused_beyond_the_clock_skew(settings: Settings) -> None:
    token = issue_access_token(settings, uuid4(), uuid4(), NOW).token

    verify_access_token(settings, token, NOW - timedelta(seconds=CLOCK_SKEW_SECONDS))
    with pytest.raises(AuthenticationError):
        verify_access_token(settings, token, NOW - timedelta(seconds=CLOCK_SKEW_SECONDS + 1))


def test_a_token_signed_with_another_secret_is_refused(settings: Settings) -> None:
    forged = jwt.encode(_claims(settings), "u" * 64, "HS256")

    with pytest.raises(AuthenticationError):
        verify_access_token(settings, forged, NOW)


def test_a_tampered_payload_is_refused(settings: Settings) -> None:
    token = issue_access_token(settings, uuid4(), uuid4(), NOW).token
    header, _, signature = token.split(".")
    other = _b64({**_claims(settings), "sub": str(uuid4())})

    with pytest.raises(AuthenticationError):
        verify_access_token(settings, f"{header}.{other}.{signature}", NOW)


def test_alg_none_is_refused(settings: Settings) -> None:
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(settings))}."

    with pytest.raises(AuthenticationError):
        verify_access_token(settings, unsigned, NOW)


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_other_algorithms_are_refused_even_with_the_right_secret(
    settings: Settings, algorithm: str
) -> None:
    token = jwt.encode(_claims(settings), _secret(settings), algorithm=algorithm)

    with pytest.raises(AuthenticationError):
        verify_access_token(settings, token, NOW)


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_every_claim_is_required(settings: Settings, claim: str) -> None:
    claims = _claims(settings)
    del claims[claim]
    token = jwt.encode(claims, _secret(settings), algorithm="HS256")

    with pytest.raises(AuthenticationError):
        verify_access_token(settings, token, NOW)


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("iss", "someone-else"),
        ("aud", "another-api"),
        ("aud", ["pulse-api", "another-api"]),
        ("typ", "refresh"),
        ("sub", "not-a-uuid"),
        ("sid", 42),
        ("exp", "soon"),
        ("nbf", 1.5),
    ],
)
def test_wrong_claim_values_are_refused(settings: Settings, claim: str, value: Any) -> None:
    token = jwt.encode({**_claims(settings), claim: value}, _secret(settings), algorithm="HS256")

    with pytest.raises(AuthenticationError):
        verify_access_token(settings, token, NOW)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_is_refused(settings: Settings, garbage: str) -> None:
    with pytest.raises(AuthenticationError):
        verify_access_token(settings, garbage, NOW)
