"""``/storage/v1/admin/config``: the project's storage quota (service role)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from apprun.modules.storage.quota import QuotaService
from apprun.modules.storage.routes.common import read_json, require_auth
from apprun.modules.web import Ctx


def build_admin_router(quota: QuotaService) -> APIRouter:
    router = APIRouter(prefix="/storage/v1/admin", tags=["storage"])

    @router.get("/config")
    async def get_storage_config(request: Request, ctx: Ctx) -> dict[str, Any]:
        """``{quota_bytes, quota_objects, updated_at}`` (null = no quota)."""
        require_auth(request, ctx)
        return await quota.get(ctx)

    @router.patch("/config")
    async def update_storage_config(request: Request, ctx: Ctx) -> dict[str, Any]:
        """Set ``quota_bytes`` and/or ``quota_objects``; ``null`` removes a quota."""
        require_auth(request, ctx)
        return await quota.update(ctx, await read_json(request))

    return router
