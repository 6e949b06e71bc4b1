"""``/admin/v1``: projects, keys, admin sign-in, audit log, project settings, actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from apprun.core.actions import Actions
from apprun.modules.platform.schemas import (
    ApiKey,
    AuditPage,
    AuditQuery,
    AuditVerification,
    Project,
    ProjectCreate,
    ProjectSettings,
    ProjectSettingsPatch,
    ProjectUpdate,
    RotateKeys,
    TokenRequest,
    TokenResponse,
)
from apprun.modules.platform.service import PlatformService
from apprun.modules.web import AdminCtx, Ctx, JsonResponse, ServiceCtx


def build_router(platform: PlatformService, actions: Actions) -> APIRouter:
    router = APIRouter(prefix="/admin/v1", default_response_class=JsonResponse)
    projects = platform.projects

    @router.post("/auth/token", tags=["admin"])
    async def admin_token(ctx: Ctx, body: TokenRequest) -> TokenResponse:
        """Sign in as a platform administrator."""
        return await platform.admins.sign_in(ctx, body)

    @router.get("/projects", tags=["projects"])
    async def project_list(ctx: AdminCtx) -> list[Project]:
        return await projects.list_projects()

    @router.post("/projects", status_code=201, tags=["projects"])
    async def project_create(ctx: AdminCtx, body: ProjectCreate) -> Project:
        return await projects.create_project(ctx, body)

    @router.get("/projects/{project_id}", tags=["projects"])
    async def project_get(ctx: AdminCtx, project_id: str) -> Project:
        return await projects.get_project(project_id)

    @router.patch("/projects/{project_id}", tags=["projects"])
    async def project_update(ctx: AdminCtx, project_id: str, body: ProjectUpdate) -> Project:
        return await projects.update_project(ctx, project_id, body)

    @router.delete("/projects/{project_id}", status_code=204, tags=["projects"])
    async def project_delete(
        ctx: AdminCtx, project_id: str, confirm: Annotated[bool, Query()] = False
    ) -> Response:
        """Delete a project and all its data; refused unless ``?confirm=true``."""
        await projects.delete_project(ctx, project_id, confirm)
        return Response(status_code=204)

    @router.get("/projects/{project_id}/keys", tags=["projects"])
    async def key_list(ctx: AdminCtx, project_id: str) -> list[ApiKey]:
        return await projects.list_keys(project_id)

    @router.post("/projects/{project_id}/keys/rotate", tags=["projects"])
    async def key_rotate(
        ctx: AdminCtx, project_id: str, body: Annotated[RotateKeys | None, Body()] = None
    ) -> list[ApiKey]:
        """Issue new keys; the old ones stop working at once."""
        return await projects.rotate_keys(ctx, project_id, (body or RotateKeys()).names)

    @router.get("/audit", tags=["audit"])
    async def audit_list(ctx: AdminCtx, query: Annotated[AuditQuery, Query()]) -> AuditPage:
        return await platform.audit.query(query)

    @router.get("/audit/verify", tags=["audit"])
    async def audit_verify(ctx: AdminCtx) -> AuditVerification:
        return await platform.audit.verify()

    @router.get("/settings", tags=["settings"])
    async def settings_get(ctx: ServiceCtx) -> ProjectSettings:
        """The runtime settings of the request's project."""
        return await projects.get_settings(ctx)

    @router.patch("/settings", tags=["settings"])
    async def settings_update(ctx: ServiceCtx, body: ProjectSettingsPatch) -> ProjectSettings:
        return await projects.update_settings(ctx, body)

    @router.get("/actions", tags=["actions"])
    async def action_list(ctx: AdminCtx) -> list[dict[str, Any]]:
        """Every registered action with its input and output JSON schemas."""
        return [action.describe() for action in actions.list()]

    return router
