"""Actions the platform registers for workflows, the CLI and the console."""

from __future__ import annotations

from pydantic import BaseModel

from apprun.core.actions import Actions
from apprun.core.context import SYSTEM, RequestContext
from apprun.core.errors import Forbidden
from apprun.modules.platform.schemas import Project, ProjectCreate
from apprun.modules.platform.service import PlatformService


class NoInput(BaseModel):
    pass


class ProjectList(BaseModel):
    projects: list[Project]


def register_actions(actions: Actions, platform: PlatformService) -> None:
    async def create_project(ctx: RequestContext, data: ProjectCreate) -> Project:
        _require_admin(ctx)
        return await platform.projects.create_project(ctx, data)

    async def list_projects(ctx: RequestContext, _: NoInput) -> ProjectList:
        _require_admin(ctx)
        return ProjectList(projects=await platform.projects.list_projects())

    actions.register(
        "platform.create_project",
        ProjectCreate,
        Project,
        create_project,
        "Create a project with its database and keys.",
    )
    actions.register(
        "platform.list_projects", NoInput, ProjectList, list_projects, "List every project."
    )


def _require_admin(ctx: RequestContext) -> None:
    if not (ctx.principal.is_admin or ctx.principal == SYSTEM):
        raise Forbidden("Only platform administrators may manage projects.")
