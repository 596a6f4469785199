"""Which project a caller may see the status of: its organization's members, or its key.

Anyone else, including a key of another project, gets ``NotFoundError``, the same
answer as for a project that does not exist (no cross-tenant existence oracle).
"""

from __future__ import annotations

from uuid import UUID

from pulse.domain.project import Project
from pulse.domain.roles import Permission
from pulse.services.application import PulseApplication
from pulse.services.authorization import require_project
from pulse.services.errors import NotFoundError


def project_for_member(app: PulseApplication, project_id: UUID, user_id: UUID) -> Project:
    project, _ = require_project(app, project_id, user_id, Permission.VIEW_PROJECTS)
    return project


def project_for_key(app: PulseApplication, project_id: UUID, key_project_id: UUID) -> Project:
    if project_id != key_project_id:
        raise NotFoundError(f"Project {project_id}")
    project = app.load(project_id, Project)
    if project.is_deleted:
        raise NotFoundError(f"Project {project_id}")
    return project
