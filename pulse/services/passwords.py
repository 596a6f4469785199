"""Account passwords: argon2id hashes, and a login check whose cost does not depend on the email.

The ``argon2.PasswordHasher`` defaults (argon2id, RFC 9106 low-memory profile: 64 MiB,
3 passes, 4 lanes) meet OWASP's recommendation, so they are kept; when the library
raises them, ``needs_rehash`` tells the login to store a fresh hash.
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pulse.domain.errors import InvalidValueError

MIN_PASSWORD_LENGTH = 12
# Long enough for any passphrase or manager-generated secret; the bound only keeps
# the request small, argon2 itself prehashes its input.
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()


def check_password_policy(password: str) -> None:
    """Refuse a new password outside the length bounds (the API validates first)."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidValueError(
            f"A password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; a malformed stored hash counts as no match."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """The hash was made with weaker parameters than the hasher's current ones."""
    return _hasher.check_needs_rehash(password_hash)


@cache
def _dummy_hash() -> str:
    # Made with the current parameters, so checking against it costs what checking a
    # real account's hash costs. Its password is random and never kept.
    return _hasher.hash(secrets.token_urlsafe(32))


def spend_verification_time(password: str) -> None:
    """Do the work of a verification that cannot succeed (login for an unknown email).

    Without it an unknown email would answer in microseconds and a known one after a
    full argon2 verification, telling an attacker which emails have accounts.
    """
    verify_password(_dummy_hash(), password)


def warm_up() -> None:
    """Compute the dummy hash now, so the first unknown-email login is not the slow one."""
    _dummy_hash()
