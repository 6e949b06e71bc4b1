"""``/storage/v1/object/versions``: the kept versions of an object (apprun's own API).
Included by the object router before its ``{bucket}/{key}`` wildcard."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from apprun.modules.storage.routes.common import read_json, require_auth
from apprun.modules.storage.versions import VersionService
from apprun.modules.web import Ctx


def build_version_router(versions: VersionService) -> APIRouter:
    router = APIRouter()

    @router.get("/versions/{bucket}/{key:path}")
    async def list_versions(
        bucket: str, key: str, request: Request, ctx: Ctx
    ) -> list[dict[str, Any]]:
        """``[current, …previous newest first]``; download one with ``GET
        /object/{bucket}/{key}?version=<v>``."""
        require_auth(request, ctx)
        return await versions.list(ctx, bucket, key)

    @router.post("/versions/{bucket}/{key:path}/restore")
    async def restore_version(bucket: str, key: str, request: Request, ctx: Ctx) -> dict[str, Any]:
        """``{"version": v}``: a copy of that version becomes the current object (the one
        it replaces is kept in turn)."""
        require_auth(request, ctx)
        body = await read_json(request)
        return await versions.restore(ctx, bucket, key, body.get("version"))

    @router.delete("/versions/{bucket}/{key:path}")
    async def delete_version(bucket: str, key: str, request: Request, ctx: Ctx) -> dict[str, Any]:
        """``?version=v``: delete one kept version and its bytes."""
        require_auth(request, ctx)
        await versions.delete(ctx, bucket, key, request.query_params.get("version"))
        return {"message": "Successfully deleted"}

    return router
