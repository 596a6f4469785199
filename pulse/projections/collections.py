"""Names of the read-model collections; other code reads them under these names."""

from __future__ import annotations

USERS = "rm_users"
ORGANIZATIONS = "rm_organizations"
MEMBERS = "rm_members"
PROJECTS = "rm_projects"
API_KEYS = "rm_api_keys"
INVITATIONS = "rm_invitations"
ROOMS = "rm_rooms"
PARTICIPANT_SESSIONS = "rm_participant_sessions"
EGRESSES = "rm_egresses"
INGRESSES = "rm_ingresses"
WEBHOOK_ENDPOINTS = "rm_webhook_endpoints"
WEBHOOK_DELIVERIES = "rm_webhook_deliveries"
WEBHOOK_ATTEMPTS = "rm_webhook_attempts"

LOCKS = "projection_locks"
"""One document per running projection (``lock``), plus markers of broken locks."""
