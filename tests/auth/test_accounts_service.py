"""The accounts service on its own: races, expiry, and what each refusal looks like."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from uuid import uuid4

import pytest

from pulse.api.auth import digester_of
from pulse.config import Settings
from pulse.domain.session import Session
from pulse.domain.user import User
from pulse.services import accounts, passwords
from pulse.services.application import PulseApplication
from pulse.services.clock import utc_now
from pulse.services.errors import AuthenticationError, ConflictError
from tests.auth.conftest import CONTEXT, PASSWORD


def _sign_up(
    app: PulseApplication, settings: Settings, email: str = "ada@example.com"
) -> accounts.SessionTokens:
    return accounts.sign_up(app, digester_of(settings), settings, email, "Ada", PASSWORD, CONTEXT)


def test_racing_sign_ups_for_one_email_create_one_account(
    pulse_app: PulseApplication, auth_settings: Settings
) -> None:
    def attempt(_: int) -> str:
        try:
            _sign_up(pulse_app, auth_settings)
        except ConflictError:
            return "conflict"
        return "created"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = sorted(pool.map(attempt, range(4)))

    assert outcomes == ["conflict", "conflict", "conflict", "created"]


def test_an_unknown_email_still_pays_for_a_verification(
    pulse_app: PulseApplication, auth_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    spent: list[str] = []
    monkeypatch.setattr(accounts, "spend_verification_time", spent.append)

    with pytest.raises(AuthenticationError, match="Invalid email or password"):
        accounts.log_in(
            pulse_app, digester_of(auth_settings), auth_settings, "x@example.com", PASSWORD, CONTEXT
        )

    assert spent == [PASSWORD]


def test_the_session_records_the_user_as_actor_and_its_expiry(
    pulse_app: PulseApplication, auth_settings: Settings
) -> None:
    tokens = _sign_up(pulse_app, auth_settings)

    session = pulse_app.load(tokens.session_id, Session)
    assert session.user_id == tokens.user.user_id
    assert session.expires_at == tokens.refresh_token_expires_at
    lifetime = tokens.refresh_token_expires_at - utc_now()
    assert timedelta(seconds=auth_settings.refresh_token_ttl_seconds - 60) < lifetime
    assert tokens.refresh_token.startswith(f"rt_{tokens.session_id.hex}.")
    assert not passwords.needs_rehash(pulse_app.load(tokens.user.user_id, User).password_hash)


def test_an_expired_session_cannot_be_refreshed(
    pulse_app: PulseApplication, auth_settings: Settings
) -> None:
    long_ago = utc_now() - timedelta(seconds=auth_settings.refresh_token_ttl_seconds + 1)
    tokens = accounts.sign_up(
        pulse_app,
        digester_of(auth_settings),
        auth_settings,
        "ada@example.com",
        "Ada",
        PASSWORD,
        CONTEXT,
        now=long_ago,
    )

    with pytest.raises(AuthenticationError, match="Invalid or expired refresh token") as refused:
        accounts.refresh(
            pulse_app, digester_of(auth_settings), auth_settings, tokens.refresh_token, CONTEXT
        )
    assert not isinstance(refused.value, accounts.SessionRevokedError)


def test_a_replayed_refresh_token_reports_the_session_to_revoke(
    pulse_app: PulseApplication, auth_settings: Settings
) -> None:
    digester = digester_of(auth_settings)
    tokens = _sign_up(pulse_app, auth_settings)
    accounts.refresh(pulse_app, digester, auth_settings, tokens.refresh_token, CONTEXT)

    with pytest.raises(accounts.SessionRevokedError) as revoked:
        accounts.refresh(pulse_app, digester, auth_settings, tokens.refresh_token, CONTEXT)

    assert revoked.value.session_id == tokens.session_id
    assert pulse_app.load(tokens.session_id, Session).revoked_reason == "refresh token reused"


def test_a_session_is_ended_only_by_its_own_user(
    pulse_app: PulseApplication, auth_settings: Settings
) -> None:
    tokens = _sign_up(pulse_app, auth_settings)

    with pytest.raises(AuthenticationError):
        accounts.end_session(pulse_app, uuid4(), tokens.session_id, CONTEXT)
    assert not pulse_app.load(tokens.session_id, Session).is_revoked

    ended = accounts.end_session(pulse_app, tokens.user.user_id, tokens.session_id, CONTEXT)
    assert ended.session_id == tokens.session_id
    assert pulse_app.load(tokens.session_id, Session).revoked_reason == "logged out"
