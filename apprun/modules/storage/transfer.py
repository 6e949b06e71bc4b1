"""Moving and copying objects, within a bucket or between buckets."""

from __future__ import annotations

from typing import Any

import orjson

from apprun.core.context import RequestContext
from apprun.core.ids import new_id
from apprun.modules.storage import hooks, names, render, store
from apprun.modules.storage.errors import (
    AccessDenied,
    EntityTooLarge,
    InvalidMimeType,
    InvalidRequest,
    NoSuchKey,
    ResourceAlreadyExists,
)
from apprun.modules.storage.names import mime_allowed
from apprun.modules.storage.objects import ObjectService, allowed_types, blob_key, caller_id


class TransferService:
    def __init__(self, objects: ObjectService) -> None:
        self.objects = objects
        self.k = objects.k

    async def move(self, ctx: RequestContext, body: dict[str, Any]) -> None:
        source_bucket, source, target_bucket, target = _endpoints(body)
        bucket = await self.k.bucket(ctx, source_bucket)
        destination = (
            bucket if target_bucket == source_bucket else await self.k.bucket(ctx, target_bucket)
        )
        update = await self.k.gate(ctx, bucket, "update")
        insert = await self.k.gate(ctx, destination, "insert")
        now = self.k.clock.now()
        async with (await self.k.db(ctx)).tx() as conn:
            row = await store.select_object(conn, source_bucket, source, update.filter())
            if row is None:
                raise NoSuchKey(details={"key": source})
            moved = {
                **dict(row),
                "bucket_id": target_bucket,
                "name": target,
                "path_tokens": orjson.dumps(names.segments(target)).decode(),
                "updated_at": now,
            }
            self._fits(destination, row["size"], row["mime_type"])
            candidate = {**moved, "user_metadata": _loads(row["metadata"])}
            if not (insert.allows(candidate) and update.allows(candidate)):
                raise AccessDenied()
            if await store.select_object(conn, target_bucket, target) is not None:
                raise ResourceAlreadyExists(details={"key": target})
            try:
                await store.update_object(conn, row["id"], moved)
            except store.Duplicate:
                raise ResourceAlreadyExists(details={"key": target}) from None
        await self.k.emit(
            ctx,
            hooks.OBJECT_DELETED,
            hooks.ObjectChanged(ctx.project, source_bucket, source, render.object_info(dict(row))),
        )
        await self.k.emit(
            ctx,
            hooks.OBJECT_CREATED,
            hooks.ObjectChanged(ctx.project, target_bucket, target, render.object_info(moved)),
        )

    async def copy(
        self, ctx: RequestContext, body: dict[str, Any], *, upsert: bool, user_metadata: Any
    ) -> dict[str, Any]:
        source_bucket, source, target_bucket, target = _endpoints(body)
        stored = await self.objects.find(ctx, source_bucket, source)
        destination = await self.k.bucket(ctx, target_bucket)
        row = stored.row
        values = {
            "name": target,
            "bucket_id": target_bucket,
            "owner": caller_id(ctx),
            "version": new_id(),
            "size": row["size"],
            "mime_type": row["mime_type"],
            "etag": row["etag"],
            "cache_control": row["cache_control"],
            "metadata": row["metadata"],
        }
        if body.get("copyMetadata", True) is False:
            overrides = body.get("metadata") or {}
            if not isinstance(overrides, dict):
                raise InvalidRequest("body/metadata must be object")
            values["cache_control"] = str(overrides.get("cacheControl") or row["cache_control"])
            values["mime_type"] = str(overrides.get("mimetype") or row["mime_type"])
            values["metadata"] = (
                None if user_metadata is None else orjson.dumps(user_metadata).decode()
            )
        self._fits(destination, values["size"], values["mime_type"])
        insert = await self.k.gate(ctx, destination, "insert")
        update = await self.k.gate(ctx, destination, "update") if upsert else None
        if not insert.granted and not (update and update.granted):
            raise AccessDenied()
        blobs = self.k.store_of(ctx)
        await blobs.copy(blob_key(row["version"]), blob_key(values["version"]))
        try:
            new, created, obsolete = await self.objects.commit(
                ctx, destination, values, upsert, (insert, update)
            )
        except BaseException:
            await blobs.delete([blob_key(values["version"])])
            raise
        await self.objects.drop_versions(ctx, obsolete)
        hook = hooks.OBJECT_CREATED if created else hooks.OBJECT_UPDATED
        await self.k.emit(
            ctx,
            hook,
            hooks.ObjectChanged(ctx.project, target_bucket, target, render.object_info(new)),
        )
        return {"Id": new["id"], "Key": f"{target_bucket}/{target}", **render.object_row(new)}

    def _fits(self, destination: dict[str, Any], size: int, mime: str) -> None:
        """An object moved or copied into a bucket meets that bucket's limits."""
        limit = self.k.file_size_limit(destination)
        if size > limit:
            raise EntityTooLarge(details={"limit": limit})
        if not mime_allowed(mime, allowed_types(destination)):
            raise InvalidMimeType(f"mime type {mime} is not supported", details={"type": mime})


def _endpoints(body: dict[str, Any]) -> tuple[str, str, str, str]:
    for field in ("bucketId", "sourceKey", "destinationKey"):
        if not isinstance(body.get(field), str):
            raise InvalidRequest(f"body must have required property '{field}'")
    target_bucket = body.get("destinationBucket") or body["bucketId"]
    if not isinstance(target_bucket, str):
        raise InvalidRequest("body/destinationBucket must be string")
    return (
        body["bucketId"],
        names.object_key(body["sourceKey"]),
        target_bucket,
        names.object_key(body["destinationKey"]),
    )


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)
