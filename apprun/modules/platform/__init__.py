"""The platform module: projects (tenants), API keys, platform admins, audit log.

Other layers use only what this facade exports.
"""

from apprun.modules.platform.actions import register_actions
from apprun.modules.platform.errors import ProjectNotFound
from apprun.modules.platform.routes import build_router
from apprun.modules.platform.schemas import (
    AdminCreate,
    ApiKey,
    AuditPage,
    AuditQuery,
    AuditVerification,
    Project,
    ProjectCreate,
)
from apprun.modules.platform.service import DEFAULT_PROJECT, KeyIdentity, PlatformService

__all__ = [
    "DEFAULT_PROJECT",
    "AdminCreate",
    "ApiKey",
    "AuditPage",
    "AuditQuery",
    "AuditVerification",
    "KeyIdentity",
    "PlatformService",
    "Project",
    "ProjectCreate",
    "ProjectNotFound",
    "build_router",
    "register_actions",
]
