"""``/storage/v1/bucket``: Supabase Storage's bucket routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from apprun.modules.storage.buckets import BucketService
from apprun.modules.storage.objects import ObjectService
from apprun.modules.storage.routes.common import read_json, require_auth
from apprun.modules.web import Ctx


def build_bucket_router(buckets: BucketService, objects: ObjectService) -> APIRouter:
    router = APIRouter(prefix="/storage/v1", tags=["storage"])

    @router.get("/bucket")
    @router.get("/bucket/", include_in_schema=False)
    async def list_buckets(request: Request, ctx: Ctx) -> list[dict[str, Any]]:
        """The buckets the caller can see (all of them for the service role)."""
        require_auth(request, ctx)
        return await buckets.list(ctx, dict(request.query_params))

    @router.post("/bucket")
    @router.post("/bucket/", include_in_schema=False)
    async def create_bucket(request: Request, ctx: Ctx) -> dict[str, Any]:
        """Create a bucket: ``{name, public?, file_size_limit?, allowed_mime_types?}`` plus
        apprun's ``versioning``, ``max_versions``, ``allow_inline_html``, ``policies`` and
        ``grants`` (service role)."""
        require_auth(request, ctx)
        return await buckets.create(ctx, await read_json(request))

    @router.get("/bucket/{bucket_id}")
    async def get_bucket(bucket_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
        require_auth(request, ctx)
        return await buckets.get(ctx, bucket_id)

    @router.put("/bucket/{bucket_id}")
    async def update_bucket(bucket_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
        """Change a bucket's settings; absent keys stay, ``null`` clears (service role)."""
        require_auth(request, ctx)
        await buckets.update(ctx, bucket_id, await read_json(request))
        return {"message": "Successfully updated"}

    @router.post("/bucket/{bucket_id}/empty")
    async def empty_bucket(bucket_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
        """Delete every object of the bucket and its kept versions (service role)."""
        require_auth(request, ctx)
        await objects.empty(ctx, bucket_id)
        return {"message": "Successfully emptied"}

    @router.delete("/bucket/{bucket_id}")
    async def delete_bucket(bucket_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
        """Delete an empty bucket (service role)."""
        require_auth(request, ctx)
        await read_json(request)
        await buckets.delete(ctx, bucket_id)
        return {"message": "Successfully deleted"}

    return router
