"""Why a command was refused, in domain terms; the API maps each to an HTTP status."""

from __future__ import annotations

from uuid import UUID


class DomainError(Exception):
    """A command the domain refuses; the message is safe to show to the caller."""


class InvariantError(DomainError):
    """The command would break a rule the aggregate guarantees (e.g. one Owner left)."""


class DeletedError(DomainError):
    """The aggregate was (soft) deleted and accepts no further command."""


class InvalidValueError(DomainError):
    """A value is outside what the domain accepts (unknown region, bad role...)."""


class NotPermittedError(DomainError):
    """The actor's role does not allow this command.

    ``organization_id`` (and ``project_id``) name where the refusal happened when the
    role matrix refused a member; the API records such refusals in that organization's
    audit log. Refusals raised elsewhere (an invitation for another address, a foreign
    refresh token) leave them None and are not recorded.
    """

    def __init__(
        self,
        message: str = "",
        *,
        organization_id: UUID | None = None,
        project_id: UUID | None = None,
    ) -> None:
        super().__init__(message)
        self.organization_id = organization_id
        self.project_id = project_id


class ExpiredError(DomainError):
    """A time-limited thing (invitation, session) is past its expiry."""
