"""/auth/v1/admin/users: GoTrue's admin users API (service_role), plus apprun's sign-out
everywhere and session list for the console."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from apprun.modules.auth.adminio import (
    AdminUserAttributes,
    AdminUserDelete,
    pagination,
    pagination_headers,
)
from apprun.modules.auth.routes.common import AuthAdminCtx, body_of
from apprun.modules.web import JsonResponse

if TYPE_CHECKING:
    from apprun.modules.auth import AuthService

AUD = "authenticated"


def build_admin_users_router(auth: AuthService) -> APIRouter:
    router = APIRouter(prefix="/auth/v1/admin", tags=["auth admin"])
    admin = auth.admin

    @router.get("/users", summary="List users, newest first (page, per_page; filter by email)")
    async def users_list(ctx: AuthAdminCtx, request: Request) -> JsonResponse:
        query = request.query_params
        page, per_page = pagination(query.get("page"), query.get("per_page"))
        users, total = await admin.list_users(ctx, page, per_page, query.get("filter") or None)
        headers = pagination_headers(total, page, per_page)
        return JsonResponse({"users": users, "aud": AUD}, headers=headers)

    @router.post("/users", summary="Create a user (200, as GoTrue)")
    async def user_create(ctx: AuthAdminCtx, request: Request) -> Any:
        return await admin.create_user(ctx, await body_of(request, AdminUserAttributes))

    @router.get("/users/{user_id}", summary="One user")
    async def user_get(ctx: AuthAdminCtx, user_id: str) -> Any:
        return await admin.get_user(ctx, user_id)

    @router.put("/users/{user_id}", summary="Update a user: metadata, password, email, ban")
    async def user_update(ctx: AuthAdminCtx, user_id: str, request: Request) -> Any:
        return await admin.update_user(ctx, user_id, await body_of(request, AdminUserAttributes))

    @router.delete("/users/{user_id}", summary="Delete a user (should_soft_delete keeps the row)")
    async def user_delete(ctx: AuthAdminCtx, user_id: str, request: Request) -> Any:
        body = await body_of(request, AdminUserDelete)
        await admin.delete_user(ctx, user_id, soft=body.should_soft_delete)
        return {}

    @router.post("/users/{user_id}/logout", summary="End every session of the user (apprun)")
    async def user_logout(ctx: AuthAdminCtx, user_id: str) -> Any:
        await admin.sign_out(ctx, user_id)
        return {}

    @router.get("/users/{user_id}/sessions", summary="The user's sessions, newest first (apprun)")
    async def user_sessions(ctx: AuthAdminCtx, user_id: str) -> Any:
        return await admin.sessions(ctx, user_id)

    return router
