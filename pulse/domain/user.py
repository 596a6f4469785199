"""User: a person's account, identified by email, with an argon2id password hash."""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from pulse.domain.context import CommandContext

_USER_NAMESPACE = UUID("8d3b1c62-0f4e-4b0e-b2e4-4b1f3c7d9a11")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def user_id_for(email: str) -> UUID:
    """One account per email: the id itself makes a second sign-up conflict."""
    return uuid5(_USER_NAMESPACE, normalize_email(email))


class User(Aggregate):
    @staticmethod
    def create_id(email: str) -> UUID:
        return user_id_for(email)

    @event("Registered")
    def __init__(self, email: str, name: str, password_hash: str, context: CommandContext) -> None:
        self.email = normalize_email(email)
        self.name = name
        self.password_hash = password_hash

    def change_password_hash(self, password_hash: str, context: CommandContext) -> None:
        """Store a new hash (a changed password, or a rehash with stronger parameters)."""
        self._password_changed(password_hash=password_hash, context=context)

    @event("PasswordChanged")
    def _password_changed(self, password_hash: str, context: CommandContext) -> None:
        self.password_hash = password_hash
