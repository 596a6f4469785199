"""Outcomes of the service layer that are not domain rules."""

from __future__ import annotations


class ServiceError(Exception):
    """A command or query that cannot be served; the message is safe to show."""


class NotFoundError(ServiceError):
    """No such resource, or one the caller may not know about (tenant isolation)."""


class ConflictError(ServiceError):
    """The resource already exists, or changed concurrently too often to apply the command."""


class AuthenticationError(ServiceError):
    """Credentials are missing, wrong, expired or revoked."""


class InvalidTokenError(ServiceError):
    """A token in the request body (not the caller's credentials) is wrong or unknown."""
