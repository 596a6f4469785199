"""Async queries over the read models, for the API.

Every list takes ``limit`` (1-100, default 20) and an opaque ``cursor`` and returns
a ``Page`` (items, total, next_cursor). Lists are constrained to the organization
ids they are given: tenant isolation is enforced here, not left to filters.
Documents are returned as stored (``_id`` and all), except that key lists never
carry ``digest``.
"""

from pulse.queries.api_keys import find_api_key_by_digest, list_api_keys
from pulse.queries.invitations import list_invitations
from pulse.queries.members import list_members, organization_ids_of_user
from pulse.queries.organizations import list_organizations
from pulse.queries.pagination import DEFAULT_LIMIT, MAX_LIMIT, InvalidQueryError, Page
from pulse.queries.projects import list_projects
from pulse.queries.users import get_user

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "InvalidQueryError",
    "Page",
    "find_api_key_by_digest",
    "get_user",
    "list_api_keys",
    "list_invitations",
    "list_members",
    "list_organizations",
    "list_projects",
    "organization_ids_of_user",
]
