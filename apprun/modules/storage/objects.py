"""Object use cases: upload (and overwrite), read, info, delete, empty a bucket.

Writing is ordered so that the database and the blob store never disagree in a way a
client can see: the bytes are streamed to a fresh blob first (nothing points to it yet),
then one transaction checks the policy, the quota and the key and points the row to it;
only after the commit are replaced bytes removed. A crash in between leaves an unreferenced
blob, which ``sweep`` removes later; a row never points to missing bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import RequestContext
from apprun.core.ids import new_id
from apprun.modules.storage import hooks, names, render, store
from apprun.modules.storage.blobs import BlobMissing
from apprun.modules.storage.errors import (
    AccessDenied,
    EntityTooLarge,
    InvalidRequest,
    KeyAlreadyExists,
    MissingBlob,
    NoSuchBucket,
    NoSuchKey,
    NoSuchVersion,
    QuotaExceeded,
)
from apprun.modules.storage.ingest import Ingest, check_declared, effective_type
from apprun.modules.storage.kernel import StorageKernel, require_service
from apprun.modules.storage.policies import Gate

TOUCH_EVERY: Final = timedelta(hours=1)
"""``last_accessed_at`` is written at most this often per object (reads stay reads)."""
MAX_DELETE: Final = 1000
OnCommit = Callable[[AsyncConnection], Awaitable[None]]


def caller_id(ctx: RequestContext) -> str | None:
    principal = ctx.principal
    return principal.subject if principal.role.value == "authenticated" else None


def blob_key(version: str) -> str:
    return f"objects/{version}"


@dataclass
class Source:
    """What an upload brings: the bytes and what the client declared about them."""

    chunks: AsyncIterable[bytes]
    content_type: str = "application/octet-stream"
    cache_control: str = "no-cache"
    metadata: dict[str, Any] | None = None
    length: int | None = None


@dataclass
class Stored:
    """An object found for reading, and its bucket."""

    bucket: dict[str, Any]
    row: dict[str, Any]
    version: str
    _kernel: StorageKernel = field(repr=False)
    _project: str = field(repr=False)

    @property
    def project(self) -> str:
        return self._project

    async def open(self, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        try:
            return await self._kernel.blobs.project(self._project).open(
                blob_key(self.version), start, end
            )
        except BlobMissing:
            raise MissingBlob(headers={"Cache-Control": "no-store"}) from None


class ObjectService:
    def __init__(self, kernel: StorageKernel) -> None:
        self.k = kernel

    # Writing
    async def upload(
        self,
        ctx: RequestContext,
        bucket_id: str,
        key: str,
        source: Source,
        *,
        upsert: bool,
        owner: str | bool | None = True,
        checked: bool = True,
    ) -> dict[str, Any]:
        """Store ``source`` under ``key``. ``owner=True`` means the caller; ``checked=False``
        skips the policies (a signed upload URL, whose creation checked them)."""
        key = names.object_key(key)
        bucket = await self.k.bucket(ctx, bucket_id)
        owner_id = caller_id(ctx) if owner is True else owner or None
        limit = self.k.file_size_limit(bucket)
        if source.length is not None and source.length > limit:
            raise EntityTooLarge(details={"limit": limit})
        if not key.endswith(names.PLACEHOLDER):
            check_declared(source.content_type, allowed_types(bucket))
        gates = await self.write_gates(ctx, bucket, upsert, checked)
        if not any(gate is not None and gate.granted for gate in gates):
            raise AccessDenied()
        await self.check_quota(ctx, bucket_id, key, source.length or 0)
        return await self.finish(
            ctx, bucket, key, source, upsert=upsert, owner=owner_id, gates=gates
        )

    async def finish(
        self,
        ctx: RequestContext,
        bucket: dict[str, Any],
        key: str,
        source: Source,
        *,
        upsert: bool,
        owner: str | None,
        gates: tuple[Gate, Gate | None],
        on_commit: OnCommit | None = None,
    ) -> dict[str, Any]:
        """The finishing step of every write (checks done): stream ``source`` into a fresh
        blob, point the row to it, drop replaced bytes, emit the hook. ``on_commit`` runs
        inside the row's transaction (a resumable upload removes its own row there)."""
        placeholder = key.endswith(names.PLACEHOLDER)
        allowed = allowed_types(bucket)
        version = new_id()
        ingest = Ingest(source.chunks, 0 if placeholder else self.k.file_size_limit(bucket))
        blobs = self.k.store_of(ctx)
        await blobs.write(blob_key(version), ingest)
        try:
            mime = source.content_type
            if not placeholder:
                mime = effective_type(source.content_type, ingest.head, allowed)
            values = {
                "name": key,
                "bucket_id": bucket["id"],
                "owner": owner,
                "version": version,
                "size": ingest.size,
                "mime_type": mime,
                "etag": ingest.md5,
                "cache_control": source.cache_control,
                "metadata": None
                if source.metadata is None
                else orjson.dumps(source.metadata).decode(),
            }
            row, created, obsolete = await self.commit(
                ctx, bucket, values, upsert, gates, on_commit
            )
        except BaseException:
            await blobs.delete([blob_key(version)])
            raise
        await self.drop_versions(ctx, obsolete)
        hook = hooks.OBJECT_CREATED if created else hooks.OBJECT_UPDATED
        await self.k.emit(
            ctx,
            hook,
            hooks.ObjectChanged(ctx.project, bucket["id"], key, render.object_info(row)),
        )
        return row

    async def preflight(
        self, ctx: RequestContext, bucket_id: str, key: str, *, upsert: bool
    ) -> dict[str, Any]:
        """Check, before any byte arrives, that the caller may create ``key`` (signed upload
        URLs, resumable uploads) → the bucket."""
        bucket = await self.k.bucket(ctx, bucket_id)
        insert, update = await self.write_gates(ctx, bucket, upsert, True)
        candidate = {"name": key, "bucket_id": bucket_id, "owner": caller_id(ctx)}
        async with (await self.k.db(ctx)).read() as conn:
            existing = await store.select_object(conn, bucket_id, key)
            if existing is not None and not upsert:
                raise KeyAlreadyExists(details={"key": key})
            if existing is None:
                allowed = insert.allows(candidate)
            else:
                allowed = update is not None and await _may_replace(
                    conn, update, existing, candidate
                )
        if not allowed:
            raise AccessDenied()
        return bucket

    async def write_gates(
        self, ctx: RequestContext, bucket: dict[str, Any], upsert: bool, checked: bool
    ) -> tuple[Gate, Gate | None]:
        if not checked:
            bypass = Gate(True, None, None, lambda _: True, self.k.clock.now(), "sqlite")
            return bypass, bypass if upsert else None
        insert = await self.k.gate(ctx, bucket, "insert")
        update = await self.k.gate(ctx, bucket, "update") if upsert else None
        return insert, update

    async def commit(
        self,
        ctx: RequestContext,
        bucket: dict[str, Any],
        values: dict[str, Any],
        upsert: bool,
        gates: tuple[Gate, Gate | None],
        on_commit: OnCommit | None = None,
    ) -> tuple[dict[str, Any], bool, list[str]]:
        """Point ``values['name']`` to the new blob in one transaction: → (row, created,
        versions whose bytes are no longer needed)."""
        insert_gate, update_gate = gates
        now = self.k.clock.now()
        candidate = {**values, "user_metadata": _loads(values["metadata"])}
        async with (await self.k.db(ctx)).tx() as conn:
            existing = await store.select_object(conn, bucket["id"], values["name"])
            if existing is not None and not upsert:
                raise KeyAlreadyExists(details={"key": values["name"]})
            if existing is None:
                if not insert_gate.allows(candidate):
                    raise AccessDenied()
            elif update_gate is None or not await _may_replace(
                conn, update_gate, existing, candidate
            ):
                raise AccessDenied()
            old_size = existing["size"] if existing is not None else 0
            await self._quota_in(conn, values["size"] - old_size, 0 if existing else 1)
            row = {
                **values,
                "path_tokens": orjson.dumps(names.segments(values["name"])).decode(),
                "updated_at": now,
                "last_accessed_at": now,
            }
            if existing is None:
                row.update(id=new_id(), created_at=now)
                try:
                    await store.insert_object(conn, row)
                except store.Duplicate:
                    raise KeyAlreadyExists(details={"key": values["name"]}) from None
                obsolete = []
            else:
                row.update(id=existing["id"], created_at=existing["created_at"])
                await store.update_object(conn, existing["id"], row)
                obsolete = await self.retire(conn, bucket, dict(existing), now)
            if on_commit is not None:
                await on_commit(conn)
        return row, existing is None, obsolete

    async def retire(
        self, conn: AsyncConnection, bucket: dict[str, Any], old: dict[str, Any], now: Any
    ) -> list[str]:
        """The object version ``old`` was replaced or deleted: keep it when the bucket
        versions objects (up to its limit) → the versions whose bytes can go."""
        if not bucket["versioning"]:
            return [old["version"]]
        await store.insert_version(
            conn,
            {
                "version": old["version"],
                "object_id": old["id"],
                "bucket_id": old["bucket_id"],
                "name": old["name"],
                "owner": old["owner"],
                "size": old["size"],
                "mime_type": old["mime_type"],
                "etag": old["etag"],
                "cache_control": old["cache_control"],
                "metadata": old["metadata"],
                "created_at": old["updated_at"],
                "archived_at": now,
            },
        )
        kept = bucket["max_versions"] or self.k.limits.max_versions
        history = await store.select_versions(conn, old["bucket_id"], old["name"])
        dropped = [row["version"] for row in history[kept:]]
        await store.delete_versions(conn, dropped)
        return dropped

    async def drop_versions(self, ctx: RequestContext, versions: list[str]) -> None:
        """Remove the bytes of versions nothing points to any more, and their renditions."""
        if not versions:
            return
        blobs = self.k.store_of(ctx)
        derived = [entry.key for v in versions async for entry in blobs.list(f"derived/{v}/")]
        await blobs.delete([blob_key(v) for v in versions] + derived)

    # Quota
    async def check_quota(self, ctx: RequestContext, bucket_id: str, key: str, size: int) -> None:
        """Refuse early what the quota cannot hold; an overwrite counts the difference."""
        async with (await self.k.db(ctx)).read() as conn:
            existing = await store.select_object(conn, bucket_id, key)
            if existing is None:
                await self._quota_in(conn, size, 1)
            else:
                await self._quota_in(conn, size - existing["size"], 0)

    async def _quota_in(self, conn: AsyncConnection, size: int, count: int) -> None:
        config = await store.select_config(conn)
        if config is None or (config["quota_bytes"] is None and config["quota_objects"] is None):
            return
        used_bytes, used_objects = await store.usage(conn)
        if config["quota_bytes"] is not None and used_bytes + size > config["quota_bytes"]:
            raise QuotaExceeded(
                details={"quota_bytes": config["quota_bytes"], "used_bytes": used_bytes}
            )
        if config["quota_objects"] is not None and used_objects + count > config["quota_objects"]:
            raise QuotaExceeded(
                "The project's object quota is exhausted",
                details={"quota_objects": config["quota_objects"], "used_objects": used_objects},
            )

    # Reading
    async def find(
        self,
        ctx: RequestContext,
        bucket_id: str,
        key: str,
        *,
        mode: str = "authenticated",
        version: str | None = None,
    ) -> Stored:
        """The object for a download or info: ``mode`` is ``authenticated`` (the select
        policy decides; public buckets are readable by anyone), ``public`` (public buckets
        only) or ``signed`` (a verified token already decided). With ``version``, that
        version of the object (current or kept), as the same policy allows."""
        key = names.object_key(key)
        bucket = await self.k.bucket(ctx, bucket_id)
        gate = await self.read_gate(ctx, bucket, mode)
        if version is not None:
            return await self._find_version(ctx, bucket, key, version, gate)
        where = None if gate is None else gate.filter()
        async with (await self.k.db(ctx)).read() as conn:
            row = await store.select_object(conn, bucket_id, key, where)
        if row is None:
            raise NoSuchKey(details={"bucket": bucket_id, "key": key})
        row = dict(row)
        await self._touch(ctx, row)
        return Stored(bucket, row, row["version"], self.k, ctx.project)

    async def read_gate(
        self, ctx: RequestContext, bucket: dict[str, Any], mode: str
    ) -> Gate | None:
        """The select gate a read goes through, or None when nothing restricts it."""
        if mode == "public" and not bucket["public"]:
            raise NoSuchBucket(details={"bucket": bucket["id"]})
        if mode == "authenticated" and not bucket["public"]:
            return await self.k.gate(ctx, bucket, "select")
        return None

    async def _find_version(
        self, ctx: RequestContext, bucket: dict[str, Any], key: str, version: str, gate: Gate | None
    ) -> Stored:
        async with (await self.k.db(ctx)).read() as conn:
            current = await store.select_object(conn, bucket["id"], key)
            kept = await store.select_version(conn, bucket["id"], version)
        if current is not None and current["version"] == version:
            row = dict(current)
        elif kept is not None and kept["name"] == key:
            row = version_object(dict(kept))
        else:
            raise NoSuchVersion(details={"bucket": bucket["id"], "key": key, "version": version})
        if gate is not None and not gate.allows(candidate_of(row)):
            raise NoSuchVersion(details={"bucket": bucket["id"], "key": key, "version": version})
        return Stored(bucket, row, version, self.k, ctx.project)

    async def _touch(self, ctx: RequestContext, row: dict[str, Any]) -> None:
        now = self.k.clock.now()
        if now - row["last_accessed_at"] < TOUCH_EVERY:
            return
        async with (await self.k.db(ctx)).tx() as conn:
            await store.touch_object(conn, row["id"], now)
        row["last_accessed_at"] = now

    # Deleting
    async def delete_many(
        self, ctx: RequestContext, bucket_id: str, keys: Any
    ) -> list[dict[str, Any]]:
        """Delete these exact keys where the delete policy allows → the rows deleted."""
        if (
            not isinstance(keys, list)
            or not 1 <= len(keys) <= MAX_DELETE
            or not all(isinstance(k, str) for k in keys)
        ):
            raise InvalidRequest(
                f"body/prefixes must be a list of 1 to {MAX_DELETE} keys",
                details={"field": "prefixes"},
            )
        for key in keys:
            names.object_key(key)
        bucket = await self.k.bucket(ctx, bucket_id)
        gate = await self.k.gate(ctx, bucket, "delete")
        now = self.k.clock.now()
        obsolete: list[str] = []
        async with (await self.k.db(ctx)).tx() as conn:
            rows = [
                dict(r)
                for r in await store.select_objects_by_names(conn, bucket_id, keys, gate.filter())
            ]
            await store.delete_objects(conn, [row["id"] for row in rows])
            for row in rows:
                obsolete += await self.retire(conn, bucket, row, now)
        await self.drop_versions(ctx, obsolete)
        for row in rows:
            await self.k.emit(
                ctx,
                hooks.OBJECT_DELETED,
                hooks.ObjectChanged(ctx.project, bucket_id, row["name"], render.object_info(row)),
            )
        return [render.object_row(row) for row in rows]

    async def delete_one(self, ctx: RequestContext, bucket_id: str, key: str) -> None:
        if not await self.delete_many(ctx, bucket_id, [key]):
            raise NoSuchKey(details={"bucket": bucket_id, "key": key})

    async def empty(self, ctx: RequestContext, bucket_id: str) -> None:
        """Remove every object and kept version of a bucket (service role)."""
        require_service(ctx)
        await self.k.bucket(ctx, bucket_id)
        while True:
            async with (await self.k.db(ctx)).tx() as conn:
                rows = [dict(r) for r in await store.select_bucket_objects(conn, bucket_id, 500)]
                old = [r["version"] for r in await store.select_bucket_versions(conn, bucket_id)]
                await store.delete_objects(conn, [row["id"] for row in rows])
                await store.delete_versions(conn, old)
            await self.drop_versions(ctx, [row["version"] for row in rows] + old)
            if not rows:
                break
        await self.k.record(ctx, "storage.bucket.empty", f"bucket:{bucket_id}")
        await self.k.emit(ctx, hooks.BUCKET_EMPTIED, hooks.BucketChanged(ctx.project, bucket_id))


async def _may_replace(
    conn: AsyncConnection, gate: Gate, existing: Any, candidate: dict[str, Any]
) -> bool:
    """An overwrite needs the update policy to hold before (the stored row) and after."""
    if not gate.granted:
        return False
    if gate.bypass:
        return True
    visible = await store.select_object(
        conn, existing["bucket_id"], existing["name"], gate.filter()
    )
    return visible is not None and gate.allows(candidate)


def version_object(kept: dict[str, Any]) -> dict[str, Any]:
    """A kept version in the shape of an object row (it was the object until archived)."""
    return {
        **kept,
        "id": kept["object_id"],
        "updated_at": kept["created_at"],
        "last_accessed_at": kept["archived_at"],
    }


def candidate_of(row: dict[str, Any]) -> dict[str, Any]:
    """An object's values as a policy check on a candidate sees them."""
    return {**row, "user_metadata": _loads(row.get("metadata"))}


def allowed_types(bucket: dict[str, Any]) -> list[str] | None:
    raw = bucket.get("allowed_mime_types")
    return None if raw is None else list(orjson.loads(raw))


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)
