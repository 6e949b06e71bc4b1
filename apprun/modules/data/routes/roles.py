"""``/admin/v1/roles`` and users' roles (service_role key or admin)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from apprun.modules.data.roles import RoleService
from apprun.modules.data.schemas import Role, RoleCreate, RolePatch, UserRoles
from apprun.modules.web import JsonResponse, ServiceCtx


def build_roles_router(roles: RoleService) -> APIRouter:
    router = APIRouter(prefix="/admin/v1", default_response_class=JsonResponse, tags=["roles"])

    @router.get("/roles")
    async def role_list(ctx: ServiceCtx) -> list[Role]:
        return await roles.list_roles(ctx)

    @router.post("/roles", status_code=201)
    async def role_create(ctx: ServiceCtx, body: RoleCreate) -> Role:
        return await roles.create_role(ctx, body)

    @router.get("/roles/{name}")
    async def role_get(ctx: ServiceCtx, name: str) -> Role:
        return await roles.get_role(ctx, name)

    @router.patch("/roles/{name}")
    async def role_update(ctx: ServiceCtx, name: str, body: RolePatch) -> Role:
        """Change the description, or replace the permissions."""
        return await roles.update_role(ctx, name, body)

    @router.delete("/roles/{name}", status_code=204)
    async def role_delete(ctx: ServiceCtx, name: str) -> Response:
        await roles.delete_role(ctx, name)
        return Response(status_code=204)

    @router.get("/users/{user_id}/roles")
    async def user_roles_get(ctx: ServiceCtx, user_id: str) -> UserRoles:
        return UserRoles(roles=await roles.user_roles(ctx, user_id))

    @router.put("/users/{user_id}/roles")
    async def user_roles_set(ctx: ServiceCtx, user_id: str, body: UserRoles) -> UserRoles:
        """Replace the roles of an end user."""
        return UserRoles(roles=await roles.set_user_roles(ctx, user_id, body))

    return router
