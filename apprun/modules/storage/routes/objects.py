"""``/storage/v1/object``: upload, download, info, list, move, copy, delete and signed URLs.

Literal segments (``list``, ``sign``, ``public`` …) are routed before the
``{bucket}/{key}`` wildcard, as upstream does."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from apprun.modules.storage import render
from apprun.modules.storage.listing import ListingService
from apprun.modules.storage.objects import ObjectService
from apprun.modules.storage.routes.common import (
    _header_metadata,
    deliver,
    read_json,
    require_auth,
    upload_source,
    upsert_flag,
)
from apprun.modules.storage.routes.signed import build_signed_router
from apprun.modules.storage.routes.versions import build_version_router
from apprun.modules.storage.signing import SigningService
from apprun.modules.storage.transfer import TransferService
from apprun.modules.storage.versions import VersionService
from apprun.modules.web import Ctx


def build_object_router(
    objects: ObjectService,
    listing: ListingService,
    transfer: TransferService,
    signing: SigningService,
    versions: VersionService,
) -> APIRouter:
    router = APIRouter(prefix="/storage/v1/object", tags=["storage"])
    router.include_router(build_signed_router(objects, signing))
    router.include_router(build_version_router(versions))
    k = objects.k

    async def upload(
        request: Request, ctx: Ctx, bucket: str, key: str, upsert: bool
    ) -> dict[str, Any]:
        limit = k.file_size_limit(await k.bucket(ctx, bucket))
        async with upload_source(request, limit) as source:
            row = await objects.upload(ctx, bucket, key, source, upsert=upsert)
        return {"Id": row["id"], "Key": f"{bucket}/{row['name']}"}

    @router.post("/list/{bucket}")
    async def list_objects(bucket: str, request: Request, ctx: Ctx) -> list[dict[str, Any]]:
        """One folder level under ``prefix`` (names relative to it)."""
        require_auth(request, ctx)
        return await listing.list_v1(ctx, bucket, await read_json(request))

    @router.post("/list-v2/{bucket}")
    async def list_objects_v2(bucket: str, request: Request, ctx: Ctx) -> dict[str, Any]:
        """Full keys under ``prefix``, with a cursor."""
        require_auth(request, ctx)
        return await listing.list_v2(ctx, bucket, await read_json(request))

    @router.post("/move")
    async def move(request: Request, ctx: Ctx) -> dict[str, Any]:
        require_auth(request, ctx)
        await transfer.move(ctx, await read_json(request))
        return {"message": "Successfully moved"}

    @router.post("/copy")
    async def copy(request: Request, ctx: Ctx) -> dict[str, Any]:
        require_auth(request, ctx)
        metadata = _header_metadata(request.headers.get("x-metadata"))
        return await transfer.copy(
            ctx, await read_json(request), upsert=upsert_flag(request), user_metadata=metadata
        )

    @router.get("/public/{bucket}/{key:path}")
    @router.head("/public/{bucket}/{key:path}", include_in_schema=False)
    async def public_download(bucket: str, key: str, request: Request, ctx: Ctx) -> Response:
        """An object of a public bucket, without credentials."""
        return await deliver(request, await objects.find(ctx, bucket, key, mode="public"))

    @router.get("/authenticated/{bucket}/{key:path}")
    @router.head("/authenticated/{bucket}/{key:path}", include_in_schema=False)
    async def authenticated_download(bucket: str, key: str, request: Request, ctx: Ctx) -> Response:
        require_auth(request, ctx)
        version = request.query_params.get("version")
        return await deliver(request, await objects.find(ctx, bucket, key, version=version))

    @router.get("/info/public/{bucket}/{key:path}")
    async def public_info(bucket: str, key: str, ctx: Ctx) -> dict[str, Any]:
        return render.object_info((await objects.find(ctx, bucket, key, mode="public")).row)

    @router.get("/info/authenticated/{bucket}/{key:path}")
    @router.get("/info/{bucket}/{key:path}")
    async def info(bucket: str, key: str, ctx: Ctx) -> dict[str, Any]:
        """The object's size, type, etag, metadata and dates."""
        return render.object_info((await objects.find(ctx, bucket, key)).row)

    @router.post("/{bucket}/{key:path}")
    async def create_object(bucket: str, key: str, request: Request, ctx: Ctx) -> dict[str, Any]:
        """Upload (multipart form or raw body); ``x-upsert: true`` overwrites."""
        require_auth(request, ctx)
        return await upload(request, ctx, bucket, key, upsert_flag(request))

    @router.put("/{bucket}/{key:path}")
    async def update_object(bucket: str, key: str, request: Request, ctx: Ctx) -> dict[str, Any]:
        """Upload, replacing an existing object."""
        require_auth(request, ctx)
        return await upload(request, ctx, bucket, key, True)

    @router.get("/{bucket}/{key:path}")
    @router.head("/{bucket}/{key:path}", include_in_schema=False)
    async def download(bucket: str, key: str, request: Request, ctx: Ctx) -> Response:
        """Download: anyone for public buckets, else as the select policy allows;
        ``?version=<v>`` downloads a kept version."""
        version = request.query_params.get("version")
        return await deliver(request, await objects.find(ctx, bucket, key, version=version))

    @router.delete("/{bucket}/{key:path}")
    async def delete_object(bucket: str, key: str, request: Request, ctx: Ctx) -> dict[str, Any]:
        require_auth(request, ctx)
        await objects.delete_one(ctx, bucket, key)
        return {"message": "Successfully deleted"}

    @router.delete("/{bucket}")
    async def delete_objects(bucket: str, request: Request, ctx: Ctx) -> list[dict[str, Any]]:
        """Delete ``{"prefixes": [exact keys]}`` → the objects deleted."""
        require_auth(request, ctx)
        body = await read_json(request)
        return await objects.delete_many(ctx, bucket, body.get("prefixes"))

    return router
