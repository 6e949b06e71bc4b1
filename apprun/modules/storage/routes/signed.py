"""Signed URLs under ``/storage/v1/object``: create them (authenticated) and use them
(the token is the credential)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from apprun.modules.storage.objects import ObjectService
from apprun.modules.storage.routes.common import (
    deliver,
    read_json,
    require_auth,
    upload_source,
    upsert_flag,
)
from apprun.modules.storage.signing import SigningService
from apprun.modules.web import Ctx


def build_signed_router(objects: ObjectService, signing: SigningService) -> APIRouter:
    router = APIRouter()
    k = objects.k

    @router.post("/sign/{bucket}/{key:path}")
    async def sign(bucket: str, key: str, request: Request, ctx: Ctx) -> dict[str, Any]:
        """A signed download URL: ``{expiresIn, transform?}`` → ``{signedURL}``."""
        require_auth(request, ctx)
        return await signing.sign(ctx, bucket, key, await read_json(request))

    @router.post("/sign/{bucket}")
    async def sign_many(bucket: str, request: Request, ctx: Ctx) -> list[dict[str, Any]]:
        require_auth(request, ctx)
        return await signing.sign_many(ctx, bucket, await read_json(request))

    @router.get("/sign/{bucket}/{key:path}")
    @router.head("/sign/{bucket}/{key:path}", include_in_schema=False)
    async def signed_download(bucket: str, key: str, request: Request, ctx: Ctx) -> Response:
        claims = signing.verify(ctx, request.query_params.get("token"), "download", bucket, key)
        stored = await objects.find(ctx, bucket, key, mode="signed")
        return await deliver(request, stored, expires=datetime.fromtimestamp(claims["exp"], UTC))

    @router.post("/upload/sign/{bucket}/{key:path}")
    async def sign_upload(bucket: str, key: str, request: Request, ctx: Ctx) -> dict[str, Any]:
        """A URL to upload one object within 2 hours, without credentials."""
        require_auth(request, ctx)
        await read_json(request)
        return await signing.sign_upload(ctx, bucket, key, upsert=upsert_flag(request))

    @router.put("/upload/sign/{bucket}/{key:path}")
    async def signed_upload(bucket: str, key: str, request: Request, ctx: Ctx) -> dict[str, Any]:
        claims = signing.verify(ctx, request.query_params.get("token"), "upload", bucket, key)
        limit = k.file_size_limit(await k.bucket(ctx, bucket))
        async with upload_source(request, limit) as source:
            row = await objects.upload(
                ctx,
                bucket,
                key,
                source,
                upsert=bool(claims.get("upsert")),
                owner=claims.get("owner") or False,
                checked=False,
            )
        return {"Key": f"{bucket}/{row['name']}"}

    return router
