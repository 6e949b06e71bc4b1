"""Signed URLs: HS256 tokens of the project's own key, scoped to one object and one use
(``download`` or ``upload``), with an expiry. Upstream's claim names are kept."""

from __future__ import annotations

from typing import Any, Final

from apprun.core.context import RequestContext
from apprun.lib import jwt
from apprun.modules.storage import names
from apprun.modules.storage.errors import (
    InvalidJWT,
    InvalidParameter,
    InvalidRequest,
    InvalidSignature,
)
from apprun.modules.storage.kernel import StorageKernel
from apprun.modules.storage.objects import ObjectService, caller_id

UPLOAD_TTL: Final = 7200
MAX_TTL: Final = 10 * 365 * 24 * 3600
MAX_PATHS: Final = 1000
MISSING: Final = "Either the object does not exist or you do not have access to it"


def expires_in(value: Any) -> int:
    if value is None:
        raise InvalidRequest("body must have required property 'expiresIn'")
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = 0
    if isinstance(value, bool) or seconds < 1 or seconds > MAX_TTL:
        raise InvalidParameter("Invalid Parameter expiresIn", details={"field": "expiresIn"})
    return seconds


class SigningService:
    def __init__(self, kernel: StorageKernel, objects: ObjectService) -> None:
        self.k = kernel
        self.objects = objects

    def _token(self, ctx: RequestContext, claims: dict[str, Any], ttl: int) -> str:
        now = int(self.k.clock.now().timestamp())
        return jwt.encode_hs256(
            {**claims, "iat": now, "exp": now + ttl}, self.k.signing_key(ctx.project)
        )

    async def sign(
        self, ctx: RequestContext, bucket_id: str, key: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        ttl = expires_in(body.get("expiresIn"))
        await self.objects.find(ctx, bucket_id, key)
        transform = body.get("transform") or None
        claims: dict[str, Any] = {"url": f"{bucket_id}/{key}", "scope": "download"}
        route = "object/sign"
        if transform:
            claims["transformations"] = transform
            route = "render/image/sign"
        token = self._token(ctx, claims, ttl)
        return {"signedURL": f"/{route}/{bucket_id}/{key}?token={token}"}

    async def sign_many(
        self, ctx: RequestContext, bucket_id: str, body: dict[str, Any]
    ) -> list[dict[str, Any]]:
        ttl = expires_in(body.get("expiresIn"))
        paths = body.get("paths")
        if not isinstance(paths, list) or not 1 <= len(paths) <= MAX_PATHS:
            raise InvalidRequest(f"body/paths must be a list of 1 to {MAX_PATHS} keys")
        results = []
        for path in paths:
            try:
                await self.objects.find(ctx, bucket_id, str(path))
            except Exception:
                results.append({"error": MISSING, "path": path, "signedURL": None})
                continue
            token = self._token(ctx, {"url": f"{bucket_id}/{path}", "scope": "download"}, ttl)
            results.append(
                {
                    "error": None,
                    "path": path,
                    "signedURL": f"/object/sign/{bucket_id}/{path}?token={token}",
                }
            )
        return results

    async def sign_upload(
        self, ctx: RequestContext, bucket_id: str, key: str, *, upsert: bool
    ) -> dict[str, Any]:
        """A token to upload one object later without credentials (checked now)."""
        key = names.object_key(key)
        await self.objects.preflight(ctx, bucket_id, key, upsert=upsert)
        claims = {
            "url": f"{bucket_id}/{key}",
            "scope": "upload",
            "owner": caller_id(ctx),
            "upsert": upsert,
        }
        token = self._token(ctx, claims, UPLOAD_TTL)
        return {"url": f"/object/upload/sign/{bucket_id}/{key}?token={token}", "token": token}

    def verify(
        self, ctx: RequestContext, token: str | None, scope: str, bucket_id: str, key: str
    ) -> dict[str, Any]:
        """The claims of a valid token for this object and use; InvalidJWT or
        InvalidSignature otherwise."""
        if not token:
            raise InvalidRequest("querystring must have required property 'token'")
        now = int(self.k.clock.now().timestamp())
        try:
            claims = jwt.decode_hs256(token, self.k.signing_key(ctx.project), now)
        except jwt.TokenExpired:
            raise InvalidJWT('"exp" claim timestamp check failed') from None
        except jwt.TokenInvalid as error:
            raise InvalidJWT(_jwt_message(str(error))) from None
        if claims.get("scope") != scope or claims.get("url") != f"{bucket_id}/{key}":
            raise InvalidSignature()
        return claims


def _jwt_message(reason: str) -> str:
    return "jwt malformed" if "not a JWT" in reason or "segments" in reason else "invalid signature"
