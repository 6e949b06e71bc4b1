"""Kept versions of objects in versioned buckets (apprun's own API): list them, download
one (``ObjectService.find(version=…)``), restore one as the current object, delete one.

A restore is an ordinary write: the kept bytes are copied to a fresh blob and committed
through ``ObjectService.commit``, so the object it replaces is archived in turn and the
bucket's ``max_versions`` applies as on any overwrite.
"""

from __future__ import annotations

from typing import Any

from apprun.core.context import RequestContext
from apprun.core.ids import new_id
from apprun.modules.storage import hooks, names, render, store
from apprun.modules.storage.blobs import BlobMissing
from apprun.modules.storage.errors import (
    AccessDenied,
    InvalidRequest,
    MissingBlob,
    NoSuchKey,
    NoSuchVersion,
)
from apprun.modules.storage.objects import (
    ObjectService,
    blob_key,
    candidate_of,
    version_object,
)


class VersionService:
    def __init__(self, objects: ObjectService) -> None:
        self.objects = objects
        self.k = objects.k

    async def list(self, ctx: RequestContext, bucket_id: str, key: str) -> list[dict[str, Any]]:
        """``[current, …kept newest first]`` as the select policy shows them; NoSuchKey
        when none is visible."""
        key = names.object_key(key)
        bucket = await self.k.bucket(ctx, bucket_id)
        gate = await self.objects.read_gate(ctx, bucket, "authenticated")
        async with (await self.k.db(ctx)).read() as conn:
            current = await store.select_object(
                conn, bucket_id, key, None if gate is None else gate.filter()
            )
            kept = [
                version_object(dict(r)) for r in await store.select_versions(conn, bucket_id, key)
            ]
        if gate is not None:
            kept = [row for row in kept if gate.allows(candidate_of(row))]
        listed = [render.version(dict(current), True)] if current is not None else []
        listed += [render.version(row, False) for row in kept]
        if not listed:
            raise NoSuchKey(details={"bucket": bucket_id, "key": key})
        return listed

    async def restore(
        self, ctx: RequestContext, bucket_id: str, key: str, version: Any
    ) -> dict[str, Any]:
        """Make a copy of ``version`` the current object → its row."""
        stored = await self.objects.find(ctx, bucket_id, key, version=_version(version))
        bucket, row = stored.bucket, stored.row
        values = {
            "name": row["name"],
            "bucket_id": bucket_id,
            "owner": row["owner"],
            "version": new_id(),
            "size": row["size"],
            "mime_type": row["mime_type"],
            "etag": row["etag"],
            "cache_control": row["cache_control"],
            "metadata": row["metadata"],
        }
        insert = await self.k.gate(ctx, bucket, "insert")
        update = await self.k.gate(ctx, bucket, "update")
        if not insert.granted and not update.granted:
            raise AccessDenied()
        blobs = self.k.store_of(ctx)
        try:
            await blobs.copy(blob_key(stored.version), blob_key(values["version"]))
        except BlobMissing:
            raise MissingBlob(headers={"Cache-Control": "no-store"}) from None
        try:
            new, created, obsolete = await self.objects.commit(
                ctx, bucket, values, True, (insert, update)
            )
        except BaseException:
            await blobs.delete([blob_key(values["version"])])
            raise
        await self.objects.drop_versions(ctx, obsolete)
        hook = hooks.OBJECT_CREATED if created else hooks.OBJECT_UPDATED
        await self.k.emit(
            ctx,
            hook,
            hooks.ObjectChanged(ctx.project, bucket_id, new["name"], render.object_info(new)),
        )
        return render.version(new, True)

    async def delete(self, ctx: RequestContext, bucket_id: str, key: str, version: Any) -> None:
        """Delete one kept version and its bytes (the delete policy applies to it)."""
        key = names.object_key(key)
        version = _version(version)
        bucket = await self.k.bucket(ctx, bucket_id)
        gate = await self.k.gate(ctx, bucket, "delete")
        missing = NoSuchVersion(details={"bucket": bucket_id, "key": key, "version": version})
        async with (await self.k.db(ctx)).tx() as conn:
            kept = await store.select_version(conn, bucket_id, version)
            if kept is None or kept["name"] != key:
                current = await store.select_object(conn, bucket_id, key)
                if current is not None and current["version"] == version:
                    raise InvalidRequest(
                        "This is the current version: delete the object instead",
                        details={"field": "version"},
                    )
                raise missing
            if not gate.allows(candidate_of(version_object(dict(kept)))):
                raise missing
            await store.delete_versions(conn, [version])
        await self.objects.drop_versions(ctx, [version])


def _version(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequest("The version to use is required", details={"field": "version"})
    return value
