"""The platform's use cases behind one facade: projects, keys, admins, audit."""

from __future__ import annotations

import contextlib
import logging

from apprun.core.clock import Clock
from apprun.core.context import RequestContext
from apprun.core.hooks import Hooks
from apprun.core.migrate import upgrade
from apprun.core.ratelimit import RateLimiter
from apprun.core.tenancy import Placement, Tenancy
from apprun.lib.crypto import derive_key
from apprun.modules.platform.errors import AdminExists, ProjectExists, ProjectNotFound
from apprun.modules.platform.schemas import AdminCreate, ProjectCreate
from apprun.modules.platform.service.admins import AdminService
from apprun.modules.platform.service.audit import AuditLog
from apprun.modules.platform.service.projects import (
    DEFAULT_PROJECT,
    KeyIdentity,
    ProjectService,
)

log = logging.getLogger("apprun.platform")

__all__ = ["DEFAULT_PROJECT", "KeyIdentity", "PlatformService"]


class PlatformService:
    """Facade of the platform module; other layers use only this object."""

    def __init__(
        self,
        tenancy: Tenancy,
        hooks: Hooks,
        clock: Clock,
        limiter: RateLimiter,
        *,
        secret_key: str,
        admin_token_ttl: int,
        login_per_minute: int,
    ) -> None:
        self.tenancy = tenancy
        self.audit = AuditLog(tenancy, clock)
        self.projects = ProjectService(
            tenancy, hooks, self.audit, clock, derive_key(secret_key, "apprun/project-secrets")
        )
        self.admins = AdminService(
            tenancy,
            hooks,
            self.audit,
            clock,
            derive_key(secret_key, "apprun/admin-tokens"),
            admin_token_ttl,
            limiter,
            login_per_minute,
        )

    async def migrate(self) -> None:
        """Migrate the control database, then every project's database."""
        await upgrade(self.tenancy.control, "control")
        for project in await self.projects.list_projects():
            placement = await self.projects.placement(project.id)
            await upgrade(self.tenancy.project_db(placement), "project")

    async def bootstrap(self, admin_email: str | None, admin_password: str | None) -> None:
        """First start: the ``default`` project, and the first admin when one is configured."""
        ctx = RequestContext.system()
        try:
            await self.projects.placement(DEFAULT_PROJECT)
        except ProjectNotFound:
            # Another worker may create it at the same moment: then it exists, as wanted.
            with contextlib.suppress(ProjectExists):
                await self.projects.create_project(
                    ctx, ProjectCreate(id=DEFAULT_PROJECT, name="Default project")
                )
        if admin_email and admin_password and await self.admins.count_admins() == 0:
            try:
                await self.admins.create_admin(
                    ctx, AdminCreate(email=admin_email, password=admin_password)
                )
                log.info("created the first platform administrator %s", admin_email)
            except AdminExists:
                pass

    async def placement(self, project_id: str) -> Placement:
        return await self.projects.placement(project_id)
