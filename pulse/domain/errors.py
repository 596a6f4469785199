"""Why a command was refused, in domain terms; the API maps each to an HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """A command the domain refuses; the message is safe to show to the caller."""


class InvariantError(DomainError):
    """The command would break a rule the aggregate guarantees (e.g. one Owner left)."""


class DeletedError(DomainError):
    """The aggregate was (soft) deleted and accepts no further command."""


class InvalidValueError(DomainError):
    """A value is outside what the domain accepts (unknown region, bad role...)."""


class NotPermittedError(DomainError):
    """The actor's role does not allow this command."""


class ExpiredError(DomainError):
    """A time-limited thing (invitation, session) is past its expiry."""
