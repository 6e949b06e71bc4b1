"""Resumable uploads (tus 1.0.0): create an upload, append parts, finish it like a normal
upload, terminate it, expire it.

The state lives only in the project database (``storage_uploads``) and the blob store, so an
upload survives restarts and may move between instances. Each PATCH is its own immutable
blob ``uploads/<upload id>/<part index>.<nonce>``: it is written first, then one conditional
update (``offset`` and ``parts`` unchanged) records it, which serialises concurrent
requests. The nonce keeps a losing concurrent request from overwriting the winner's part;
the loser removes its own blob. When the offset reaches the length, the parts are streamed
in order into a fresh object blob and committed exactly like ``ObjectService.upload``, the
upload row being removed in the same transaction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import RequestContext
from apprun.core.ids import new_id
from apprun.modules.storage import names, uploadstore
from apprun.modules.storage.blobs import BlobEntry, BlobStore
from apprun.modules.storage.errors import (
    ChecksumMismatch,
    EntityTooLarge,
    InvalidRequest,
    NoSuchUpload,
    StorageError,
    UploadGone,
    UploadOffsetConflict,
)
from apprun.modules.storage.ingest import check_declared, json_object
from apprun.modules.storage.kernel import StorageKernel
from apprun.modules.storage.objects import ObjectService, Source, allowed_types, caller_id
from apprun.modules.storage.signing import SigningService

ALGORITHMS: Final[dict[str, Callable[[], Any]]] = {
    "sha1": hashlib.sha1,
    "md5": lambda: hashlib.md5(usedforsecurity=False),
    "sha256": hashlib.sha256,
}
PART_DIGITS: Final = 6
EXPIRE_BATCH: Final = 200
TOO_LARGE: Final = "Maximum size exceeded"
BAD_METADATA: Final = "Invalid Upload-Metadata header"


@dataclass(frozen=True)
class Declared:
    """What ``Upload-Metadata`` says about the object to be."""

    bucket: str
    name: str
    content_type: str
    cache_control: str
    metadata: dict[str, Any] | None


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes


@dataclass
class Progress:
    """An upload after a request: its row (as it was last stored) and whether it finished."""

    upload: dict[str, Any]
    complete: bool = False

    @property
    def offset(self) -> int:
        return int(self.upload["offset"])

    @property
    def expires_at(self) -> datetime:
        expires: datetime = self.upload["expires_at"]
        return expires


def parse_metadata(header: str | None) -> dict[str, str]:
    """``key base64value`` pairs, comma-separated; keys unique and non-empty, value optional."""
    pairs: dict[str, str] = {}
    if not header or not header.strip():
        return pairs
    for item in header.split(","):
        fields = item.strip().split(" ")
        key = fields[0]
        if not key or len(fields) > 2 or key in pairs:
            raise InvalidRequest(BAD_METADATA)
        try:
            value = base64.b64decode(fields[1], validate=True).decode() if len(fields) == 2 else ""
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidRequest(BAD_METADATA) from None
        pairs[key] = value
    return pairs


def declared(pairs: dict[str, str]) -> Declared:
    bucket, name = pairs.get("bucketName"), pairs.get("objectName")
    if not bucket or not name:
        raise InvalidRequest("Upload-Metadata must contain bucketName and objectName")
    cache = pairs.get("cacheControl", "")
    return Declared(
        bucket=bucket,
        name=names.object_key(name),
        content_type=pairs.get("contentType") or "application/octet-stream",
        cache_control=f"max-age={cache}" if cache.isdigit() else "no-cache",
        metadata=json_object(pairs.get("metadata")),
    )


def parse_checksum(header: str | None) -> Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``; unknown algorithm → 400."""
    if header is None:
        return None
    algorithm, _, value = header.strip().partition(" ")
    if algorithm not in ALGORITHMS:
        raise InvalidRequest(f"Unsupported checksum algorithm: {algorithm[:20]}")
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        raise InvalidRequest("Invalid Upload-Checksum header") from None
    return Checksum(algorithm, digest)


class Part:
    """One PATCH body on its way to its blob: counted, capped at the room left, checked
    against the declared checksum at its end (a mismatch discards the whole part)."""

    def __init__(self, chunks: AsyncIterable[bytes], room: int, checksum: Checksum | None) -> None:
        self._chunks = chunks
        self.room = room
        self.checksum = checksum
        self.size = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        hasher = ALGORITHMS[self.checksum.algorithm]() if self.checksum else None
        async for chunk in self._chunks:
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self.room:
                raise EntityTooLarge(TOO_LARGE, details={"limit": self.room})
            if hasher is not None:
                hasher.update(chunk)
            yield chunk
        if hasher is not None and self.checksum and hasher.digest() != self.checksum.digest:
            raise ChecksumMismatch()


def parts_prefix(upload_id: str) -> str:
    return f"uploads/{upload_id}/"


def part_key(upload_id: str, index: int) -> str:
    return f"{parts_prefix(upload_id)}{index:0{PART_DIGITS}d}.{new_id()}"


class ResumableService:
    def __init__(
        self, kernel: StorageKernel, objects: ObjectService, signing: SigningService
    ) -> None:
        self.k = kernel
        self.objects = objects
        self.signing = signing

    async def create(
        self,
        ctx: RequestContext,
        *,
        length: int | None,
        metadata_header: str | None,
        upsert: bool,
        signature: str | None = None,
    ) -> Progress:
        """A new upload of ``length`` bytes (None: deferred), checked as an upload would be
        before any byte arrives. ``signature``: a signed upload token (its owner and upsert
        apply, the policies were checked when it was made)."""
        wanted = declared(parse_metadata(metadata_header))
        owner = caller_id(ctx)
        if signature is not None:
            claims = self.signing.verify(ctx, signature, "upload", wanted.bucket, wanted.name)
            owner, upsert = claims.get("owner") or None, bool(claims.get("upsert"))
        bucket = await self.k.bucket(ctx, wanted.bucket)
        limit = self.k.file_size_limit(bucket)
        if length is not None and length > limit:
            raise EntityTooLarge(TOO_LARGE, details={"limit": limit})
        if not wanted.name.endswith(names.PLACEHOLDER):
            check_declared(wanted.content_type, allowed_types(bucket))
        if signature is None:
            await self.objects.preflight(ctx, wanted.bucket, wanted.name, upsert=upsert)
        await self.objects.check_quota(ctx, wanted.bucket, wanted.name, length or 0)
        now = self.k.clock.now()
        row: dict[str, Any] = {
            "id": new_id(),
            "bucket_id": wanted.bucket,
            "name": wanted.name,
            "owner": owner,
            "upsert": upsert,
            "length": length,
            "offset": 0,
            "parts": 0,
            "upload_metadata": metadata_header or "",
            "content_type": wanted.content_type,
            "cache_control": wanted.cache_control,
            "metadata": None if wanted.metadata is None else orjson.dumps(wanted.metadata).decode(),
            "created_at": now,
            "expires_at": now + timedelta(seconds=self.k.limits.upload_expiry_seconds),
        }
        async with (await self.k.db(ctx)).tx() as conn:
            await uploadstore.insert_upload(conn, row)
        if length == 0:
            await self._complete(ctx, row, bucket, upsert, checked=signature is None)
            return Progress(row, complete=True)
        return Progress(row)

    async def status(
        self, ctx: RequestContext, upload_id: str, signature: str | None = None
    ) -> dict[str, Any]:
        """The upload's row, for HEAD."""
        row, _ = await self._find(ctx, upload_id, signature)
        return row

    async def append(
        self,
        ctx: RequestContext,
        upload_id: str,
        *,
        offset: int,
        chunks: AsyncIterable[bytes],
        length: int | None = None,
        checksum: Checksum | None = None,
        upsert: bool | None = None,
        signature: str | None = None,
    ) -> Progress:
        """Store the bytes of one PATCH at ``offset`` (which must be the current one); the
        request that reaches the length finishes the upload. ``upsert`` None: as created."""
        row, claims = await self._find(ctx, upload_id, signature)
        if offset != row["offset"]:
            raise UploadOffsetConflict(details={"offset": row["offset"]})
        bucket = await self.k.bucket(ctx, row["bucket_id"])
        limit = self.k.file_size_limit(bucket)
        total, new_length = row["length"], None
        if length is not None and length != total:
            if total is not None:
                raise InvalidRequest("Upload-Length cannot be changed")
            if length < offset:
                raise InvalidRequest("Upload-Length is smaller than the current offset")
            if length > limit:
                raise EntityTooLarge(TOO_LARGE, details={"limit": limit})
            total = new_length = length
        part = Part(chunks, (limit if total is None else total) - offset, checksum)
        key = part_key(upload_id, row["parts"])
        blobs = self.k.store_of(ctx)
        await blobs.write(key, part)
        if part.size == 0:
            await blobs.delete([key])
            if new_length is not None:
                async with (await self.k.db(ctx)).tx() as conn:
                    await uploadstore.set_length(conn, upload_id, new_length)
        else:
            async with (await self.k.db(ctx)).tx() as conn:
                advanced = await uploadstore.advance_upload(
                    conn,
                    upload_id,
                    offset=offset,
                    parts=row["parts"],
                    new_offset=offset + part.size,
                    length=new_length,
                )
            if not advanced:  # a concurrent request got there first
                await blobs.delete([key])
                raise UploadOffsetConflict()
            row.update(offset=offset + part.size, parts=row["parts"] + 1)
        row["length"] = total
        if total is None or row["offset"] < total:
            return Progress(row)
        if claims is not None:
            upsert = bool(claims.get("upsert"))
        chosen = row["upsert"] if upsert is None else upsert
        await self._complete(ctx, row, bucket, chosen, checked=signature is None)
        return Progress(row, complete=True)

    async def terminate(
        self, ctx: RequestContext, upload_id: str, signature: str | None = None
    ) -> None:
        """tus termination: the upload and its parts are gone."""
        await self._find(ctx, upload_id, signature, allow_expired=True)
        await self._discard(ctx, upload_id)

    async def expire(self, ctx: RequestContext) -> int:
        """Remove the project's expired uploads and their parts → how many."""
        removed = 0
        while True:
            async with (await self.k.db(ctx)).read() as conn:
                ids = await uploadstore.select_expired(conn, self.k.clock.now(), EXPIRE_BATCH)
            for upload_id in ids:
                await self._discard(ctx, upload_id)
            removed += len(ids)
            if len(ids) < EXPIRE_BATCH:
                return removed

    async def _find(
        self,
        ctx: RequestContext,
        upload_id: str,
        signature: str | None,
        *,
        allow_expired: bool = False,
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The upload, if this caller may use it (its creator, the service role, or a signed
        upload token for the same object) → (row, token claims)."""
        async with (await self.k.db(ctx)).read() as conn:
            found = await uploadstore.select_upload(conn, upload_id)
        if found is None:
            raise NoSuchUpload()
        row = dict(found)
        claims = None
        if signature is not None:
            claims = self.signing.verify(ctx, signature, "upload", row["bucket_id"], row["name"])
        elif not ctx.principal.is_service and row["owner"] != caller_id(ctx):
            raise NoSuchUpload()  # someone else's: the same answer as a missing one
        if not allow_expired and row["expires_at"] <= self.k.clock.now():
            raise UploadGone()
        return row, claims

    async def _complete(
        self,
        ctx: RequestContext,
        row: dict[str, Any],
        bucket: dict[str, Any],
        upsert: bool,
        *,
        checked: bool,
    ) -> None:
        blobs = self.k.store_of(ctx)
        keys = await _chain(blobs, row)
        source = Source(
            chunks=_concat(blobs, keys),
            content_type=row["content_type"],
            cache_control=row["cache_control"],
            metadata=None if row["metadata"] is None else orjson.loads(row["metadata"]),
            length=row["length"],
        )
        gates = await self.objects.write_gates(ctx, bucket, upsert, checked)

        async def drop_row(conn: AsyncConnection) -> None:
            await uploadstore.delete_upload(conn, row["id"])

        try:
            await self.objects.finish(
                ctx,
                bucket,
                row["name"],
                source,
                upsert=upsert,
                owner=row["owner"],
                gates=gates,
                on_commit=drop_row,
            )
        except StorageError:
            await self._discard(ctx, row["id"])  # refused for good: the client must start over
            raise
        await _drop_parts(blobs, row["id"])

    async def _discard(self, ctx: RequestContext, upload_id: str) -> None:
        async with (await self.k.db(ctx)).tx() as conn:
            await uploadstore.delete_upload(conn, upload_id)
        await _drop_parts(self.k.store_of(ctx), upload_id)


async def _drop_parts(blobs: BlobStore, upload_id: str) -> None:
    keys = [entry.key async for entry in blobs.list(parts_prefix(upload_id))]
    if keys:
        await blobs.delete(keys)


async def _chain(blobs: BlobStore, row: dict[str, Any]) -> list[str]:
    """The part blobs that make up the upload, in order. Normally one blob per index; a
    leftover of a crashed concurrent request is told apart by the sizes adding up."""
    by_index: dict[int, list[BlobEntry]] = {}
    async for entry in blobs.list(parts_prefix(row["id"])):
        index = entry.key.rsplit("/", 1)[1].partition(".")[0]
        if index.isdigit():
            by_index.setdefault(int(index), []).append(entry)
    parts, length = int(row["parts"]), int(row["length"])
    if all(len(by_index.get(i, [])) == 1 for i in range(parts)):
        chosen = [by_index[i][0] for i in range(parts)]
        if sum(entry.size for entry in chosen) == length:
            return [entry.key for entry in chosen]
    found = _walk(by_index, 0, 0, parts, length)
    if found is None:
        raise RuntimeError(f"the parts of upload {row['id']} are missing")
    return found


def _walk(
    by_index: dict[int, list[BlobEntry]], index: int, offset: int, parts: int, length: int
) -> list[str] | None:
    if index == parts:
        return [] if offset == length else None
    for entry in sorted(by_index.get(index, []), key=lambda e: e.key):
        rest = _walk(by_index, index + 1, offset + entry.size, parts, length)
        if rest is not None:
            return [entry.key, *rest]
    return None


async def _concat(blobs: BlobStore, keys: list[str]) -> AsyncIterator[bytes]:
    for key in keys:
        async for chunk in await blobs.open(key):
            yield chunk
