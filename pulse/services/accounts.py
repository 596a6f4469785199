"""Accounts and sessions: sign-up, login, refresh-token rotation and logout.

Every refusal is an ``AuthenticationError`` with one of two generic messages, so the
answer never says whether an email has an account, or why a refresh token failed.

These commands are an account acting for itself, so the actor recorded on their
events is always the account's user, whatever actor the given context names; the
context contributes where the request came from (IP, user agent, request id).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from pulse.config import Settings
from pulse.domain.context import ActorKind, CommandContext
from pulse.domain.errors import ExpiredError, InvalidValueError, InvariantError, NotPermittedError
from pulse.domain.session import Session
from pulse.domain.user import User, normalize_email, user_id_for
from pulse.services.access_tokens import issue_access_token
from pulse.services.application import PulseApplication
from pulse.services.clock import utc_now
from pulse.services.credentials import (
    REFRESH_TOKEN_PREFIX,
    Digester,
    IssuedSecret,
    owned_token,
    parse_owned_token,
)
from pulse.services.errors import AuthenticationError, ConflictError, NotFoundError
from pulse.services.passwords import (
    check_password_policy,
    hash_password,
    needs_rehash,
    spend_verification_time,
    verify_password,
)
from pulse.services.retries import retry_on_conflict

INVALID_LOGIN = "Invalid email or password"
INVALID_REFRESH_TOKEN = "Invalid or expired refresh token"  # noqa: S105 - a message
EMAIL_TAKEN = "An account with this email already exists"
MAX_NAME_LENGTH = 100
MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path


@dataclass(frozen=True, slots=True)
class Account:
    """What the API shows of a user."""

    user_id: UUID
    email: str
    name: str

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user_id=user.id, email=user.email, name=user.name)


@dataclass(frozen=True, slots=True)
class SessionTokens:
    """A signed-in session: shown once, since only digests of the secrets are kept."""

    user: Account
    session_id: UUID
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime


@dataclass(frozen=True, slots=True)
class EndedSession:
    user_id: UUID
    session_id: UUID


class SessionRevokedError(AuthenticationError):
    """A replayed refresh token ended its session: its access tokens must be refused too."""

    def __init__(self, session_id: UUID) -> None:
        super().__init__(INVALID_REFRESH_TOKEN)
        self.session_id = session_id


def sign_up(
    app: PulseApplication,
    digester: Digester,
    settings: Settings,
    email: str,
    name: str,
    password: str,
    context: CommandContext,
    now: datetime | None = None,
) -> SessionTokens:
    """Create the account and its first session; ``ConflictError`` if the email is taken."""
    check_password_policy(password)
    email = _checked_email(email)
    name = _checked_name(name)
    now = now or utc_now()
    acting = _acting_as(context, user_id_for(email))
    user = User(email=email, name=name, password_hash=hash_password(password), context=acting)
    session, refresh_token = _start_session(digester, settings, user.id, now, acting)
    try:
        # One save: the account never exists without the session it was created with.
        app.save(user, session)
    except IntegrityError:
        # The user id is derived from the email, so the event store itself refuses a
        # second account for it, even when two sign-ups race.
        raise ConflictError(EMAIL_TAKEN) from None
    return _tokens(settings, Account.of(user), session, refresh_token, now)


def log_in(
    app: PulseApplication,
    digester: Digester,
    settings: Settings,
    email: str,
    password: str,
    context: CommandContext,
    now: datetime | None = None,
) -> SessionTokens:
    """Check the password and start a session; one generic refusal for every failure."""
    try:
        user = app.load(user_id_for(email), User)
    except NotFoundError:
        spend_verification_time(password)
        raise AuthenticationError(INVALID_LOGIN) from None
    if not verify_password(user.password_hash, password):
        raise AuthenticationError(INVALID_LOGIN)
    now = now or utc_now()
    acting = _acting_as(context, user.id)
    session, refresh_token = _start_session(digester, settings, user.id, now, acting)
    if needs_rehash(user.password_hash):
        # The only moment the plain password is at hand to upgrade an old hash.
        user.change_password_hash(hash_password(password), acting)
        try:
            app.save(user, session)
        except IntegrityError:
            # The account changed meanwhile; the upgrade can wait for the next login.
            app.save(session)
    else:
        app.save(session)
    return _tokens(settings, Account.of(user), session, refresh_token, now)


def refresh(
    app: PulseApplication,
    digester: Digester,
    settings: Settings,
    refresh_token: str,
    context: CommandContext,
    now: datetime | None = None,
) -> SessionTokens:
    """Exchange a refresh token for new tokens; the presented one stops working.

    Presenting a token that was already exchanged ends the session (someone else has
    a copy); that is saved, then ``SessionRevokedError`` tells the caller to refuse
    the session's access tokens as well.
    """
    session_id, presented = _parse_refresh_token(digester, refresh_token)
    now = now or utc_now()
    expires_at = now + timedelta(seconds=settings.refresh_token_ttl_seconds)

    def rotate() -> tuple[Session, IssuedSecret]:
        session = _load_session(app, session_id)
        issued = digester.new_owned_secret()
        acting = _acting_as(context, session.user_id)
        try:
            session.rotate(presented, issued.digest, expires_at, now, acting)
        except (InvariantError, ExpiredError, NotPermittedError):
            raise AuthenticationError(INVALID_REFRESH_TOKEN) from None
        app.save(session)
        return session, issued

    # Two refreshes racing with the same token: the loser reloads and, its token no
    # longer current, ends the session, just as a later replay would.
    session, issued = retry_on_conflict(rotate)
    if session.is_revoked:
        raise SessionRevokedError(session.id)
    try:
        user = app.load(session.user_id, User)
    except NotFoundError:
        raise AuthenticationError(INVALID_REFRESH_TOKEN) from None
    refresh_token = owned_token(REFRESH_TOKEN_PREFIX, session.id, issued)
    return _tokens(settings, Account.of(user), session, refresh_token, now)


def log_out(
    app: PulseApplication, digester: Digester, refresh_token: str, context: CommandContext
) -> EndedSession:
    """End the session the refresh token belongs to (again: a repeated logout succeeds)."""
    session_id, presented = _parse_refresh_token(digester, refresh_token)

    def revoke() -> EndedSession:
        session = _load_session(app, session_id)
        if not session.matches(presented):
            raise AuthenticationError(INVALID_REFRESH_TOKEN)
        return _revoke(app, session, context)

    return retry_on_conflict(revoke)


def end_session(
    app: PulseApplication, user_id: UUID, session_id: UUID, context: CommandContext
) -> EndedSession:
    """End a session of ``user_id`` named by an access token (logout without the refresh token)."""

    def revoke() -> EndedSession:
        session = _load_session(app, session_id)
        if session.user_id != user_id:
            raise AuthenticationError(INVALID_REFRESH_TOKEN)
        return _revoke(app, session, context)

    return retry_on_conflict(revoke)


def get_account(app: PulseApplication, user_id: UUID) -> Account:
    return Account.of(app.load(user_id, User))


# -- helpers ---------------------------------------------------------------------------


def _checked_email(email: str) -> str:
    email = normalize_email(email)
    local, at, domain = email.rpartition("@")
    if not (local and at and domain) or len(email) > MAX_EMAIL_LENGTH:
        raise InvalidValueError("Not a valid email address")
    return email


def _checked_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise InvalidValueError(f"A name has 1 to {MAX_NAME_LENGTH} characters")
    return name


def _acting_as(context: CommandContext, user_id: UUID) -> CommandContext:
    return replace(context, actor_kind=ActorKind.USER, actor_id=str(user_id))


def _start_session(
    digester: Digester, settings: Settings, user_id: UUID, now: datetime, context: CommandContext
) -> tuple[Session, str]:
    secret = digester.new_owned_secret()
    session = Session(
        user_id=user_id,
        token_digest=secret.digest,
        expires_at=now + timedelta(seconds=settings.refresh_token_ttl_seconds),
        context=context,
    )
    return session, owned_token(REFRESH_TOKEN_PREFIX, session.id, secret)


def _parse_refresh_token(digester: Digester, refresh_token: str) -> tuple[UUID, str]:
    parsed = parse_owned_token(REFRESH_TOKEN_PREFIX, refresh_token)
    if parsed is None:
        raise AuthenticationError(INVALID_REFRESH_TOKEN)
    session_id, secret = parsed
    return session_id, digester.digest(secret)


def _load_session(app: PulseApplication, session_id: UUID) -> Session:
    try:
        return app.load(session_id, Session)
    except NotFoundError:
        raise AuthenticationError(INVALID_REFRESH_TOKEN) from None


def _revoke(app: PulseApplication, session: Session, context: CommandContext) -> EndedSession:
    if not session.is_revoked:
        session.revoke("logged out", _acting_as(context, session.user_id))
        app.save(session)
    return EndedSession(user_id=session.user_id, session_id=session.id)


def _tokens(
    settings: Settings, user: Account, session: Session, refresh_token: str, now: datetime
) -> SessionTokens:
    access = issue_access_token(settings, user.user_id, session.id, now)
    return SessionTokens(
        user=user,
        session_id=session.id,
        access_token=access.token,
        access_token_expires_at=access.expires_at,
        refresh_token=refresh_token,
        refresh_token_expires_at=session.expires_at,
    )
