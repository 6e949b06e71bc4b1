"""``/storage/v1/render/image``: transformed images, for the same three kinds of access as
downloads (authenticated, public bucket, signed URL)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from apprun.modules.storage.images import ImageService, Transform
from apprun.modules.storage.objects import ObjectService, Stored
from apprun.modules.storage.routes.common import object_headers, require_auth, unchanged
from apprun.modules.storage.signing import SigningService
from apprun.modules.web import Ctx


def build_render_router(
    objects: ObjectService, images: ImageService, signing: SigningService
) -> APIRouter:
    router = APIRouter(prefix="/storage/v1/render/image", tags=["storage"])

    async def answer(
        request: Request, stored: Stored, transform: Transform, expires: datetime | None = None
    ) -> Response:
        headers = object_headers(request, stored.row, expires=expires)
        headers["X-Transformations"] = transform.describe()
        if transform.format is None:
            headers["Vary"] = "Accept"
        if (cached := unchanged(request, stored.row, headers)) is not None:
            return cached
        rendition = await images.render(stored, transform, request.headers.get("accept", ""))
        return Response(rendition.data, headers=headers, media_type=rendition.content_type)

    @router.get("/authenticated/{bucket}/{key:path}")
    async def render_authenticated(bucket: str, key: str, request: Request, ctx: Ctx) -> Response:
        """A transformed image, as the select policy allows (``width``, ``height``,
        ``resize``, ``format``, ``quality``, ``download``)."""
        require_auth(request, ctx)
        transform = Transform.parse(request.query_params, images.max_dimension)
        return await answer(request, await objects.find(ctx, bucket, key), transform)

    @router.get("/public/{bucket}/{key:path}")
    async def render_public(bucket: str, key: str, request: Request, ctx: Ctx) -> Response:
        """A transformed image of a public bucket, without credentials."""
        transform = Transform.parse(request.query_params, images.max_dimension)
        stored = await objects.find(ctx, bucket, key, mode="public")
        return await answer(request, stored, transform)

    @router.get("/sign/{bucket}/{key:path}")
    async def render_signed(bucket: str, key: str, request: Request, ctx: Ctx) -> Response:
        """A transformed image through a signed URL: the transformation is the token's."""
        claims = signing.verify(ctx, request.query_params.get("token"), "download", bucket, key)
        transform = Transform.from_claim(claims.get("transformations") or {}, images.max_dimension)
        stored = await objects.find(ctx, bucket, key, mode="signed")
        expires = datetime.fromtimestamp(claims["exp"], UTC)
        return await answer(request, stored, transform, expires)

    return router
