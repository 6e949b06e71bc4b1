"""Blobs as objects of one S3 bucket, under ``<prefix>/<project>/``.

A write of up to ``PART_SIZE`` bytes is one PutObject; a longer stream becomes a multipart
upload of ``PART_SIZE`` parts, completed only once the whole stream has arrived and aborted
when it fails, so a blob is either whole or absent, and memory stays at a few parts whatever
the size. S3 allows 10,000 parts: 78 GiB per blob at 8 MiB parts.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from apprun.modules.storage.blobs.base import BlobEntry, BlobMissing

CHUNK = 1024 * 1024
PART_SIZE = 8 * 1024 * 1024
DELETE_BATCH = 1000  # the most keys one DeleteObjects takes
URL_OPTIONS = {"endpoint", "region", "prefix", "path_style"}
MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


class S3Store:
    def __init__(self, stores: S3Stores, root: str) -> None:
        self._stores = stores
        self.bucket = stores.bucket
        self.root = root
        """Every key of this project starts with it (``<prefix>/<project>/``)."""

    def _key(self, key: str) -> str:
        # The same keys as the disk store accepts, so that a blob key works on both.
        if not key or any(part in ("", ".", "..") or "\\" in part for part in key.split("/")):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root + key

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        name = self._key(key)
        s3 = await self._stores.client()
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                buffer += chunk
                while len(buffer) > PART_SIZE:  # the last part is never empty
                    if upload_id is None:
                        created = await s3.create_multipart_upload(Bucket=self.bucket, Key=name)
                        upload_id = str(created["UploadId"])
                    part = _take(buffer, PART_SIZE)
                    parts.append(await self._upload_part(s3, name, upload_id, len(parts) + 1, part))
                    del part
            last = bytes(buffer)
            del buffer
            if upload_id is None:
                await s3.put_object(Bucket=self.bucket, Key=name, Body=io.BytesIO(last))
                return
            parts.append(await self._upload_part(s3, name, upload_id, len(parts) + 1, last))
            await s3.complete_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            if upload_id is not None:
                with anyio.CancelScope(shield=True):
                    await self._abort(s3, name, upload_id)
            raise

    async def _upload_part(
        self, s3: Any, name: str, upload_id: str, number: int, body: bytes
    ) -> dict[str, Any]:
        # A file object, not bytes: aiohttp sends it in pieces instead of in one blocking write.
        uploaded = await s3.upload_part(
            Bucket=self.bucket,
            Key=name,
            UploadId=upload_id,
            PartNumber=number,
            Body=io.BytesIO(body),
        )
        return {"PartNumber": number, "ETag": uploaded["ETag"]}

    async def _abort(self, s3: Any, name: str, upload_id: str) -> None:
        # Best effort: the original error matters more (a failed abort leaves parts that a
        # bucket lifecycle rule on incomplete uploads, or drop_project, removes).
        with contextlib.suppress(Exception):
            await s3.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)

    async def open(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        name = self._key(key)
        if start < 0 or (end is not None and end < 0):
            raise ValueError(f"not a byte range: {start}-{end}")
        s3 = await self._stores.client()
        if end is not None and end <= start:  # no Range header means "nothing": check it exists
            if await self.size(key) is None:
                raise BlobMissing(key)
            return _Chunks(None)
        ranged = {} if start == 0 and end is None else {"Range": _range(start, end)}
        try:
            response = await s3.get_object(Bucket=self.bucket, Key=name, **ranged)
        except ClientError as error:
            if _missing(error):
                raise BlobMissing(key) from None
            if _code(error) == "InvalidRange":  # starts at or past the end: nothing to read
                return _Chunks(None)
            raise
        return _Chunks(response["Body"])

    async def size(self, key: str) -> int | None:
        s3 = await self._stores.client()
        try:
            head = await s3.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if _missing(error):
                return None
            raise
        return int(head["ContentLength"])

    async def copy(self, source: str, target: str) -> None:
        # One CopyObject works up to 5 GiB; a larger source would need UploadPartCopy.
        s3 = await self._stores.client()
        try:
            await s3.copy_object(
                Bucket=self.bucket,
                Key=self._key(target),
                CopySource={"Bucket": self.bucket, "Key": self._key(source)},
            )
        except ClientError as error:
            if _missing(error):
                raise BlobMissing(source) from None
            raise

    async def delete(self, keys: list[str]) -> None:
        await self._stores.delete_names([self._key(key) for key in keys])

    async def list(self, prefix: str) -> AsyncIterator[BlobEntry]:
        async for item in self._stores.list_names(self.root + prefix):
            key = str(item["Key"]).removeprefix(self.root)
            yield BlobEntry(key, int(item["Size"]), item["LastModified"])


def _take(buffer: bytearray, size: int) -> bytes:
    """The first ``size`` bytes of ``buffer``, removed from it (copied once, not twice)."""
    with memoryview(buffer) as view:
        part = bytes(view[:size])
    del buffer[:size]
    return part


class _Chunks(AsyncIterator[bytes]):
    """A GetObject body as chunks of at most ``CHUNK`` bytes; the HTTP response is closed
    once read, on error, on ``aclose()``, or when the iterator is dropped unread."""

    def __init__(self, body: Any) -> None:
        self._body = body

    async def __anext__(self) -> bytes:
        if self._body is None:
            raise StopAsyncIteration
        try:
            chunk: bytes = await self._body.read(CHUNK)
        except BaseException:
            self._close()
            raise
        if not chunk:
            self._close()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        self._close()

    def _close(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.close()

    def __del__(self) -> None:
        self._close()


def _range(start: int, end: int | None) -> str:
    return f"bytes={start}-" if end is None else f"bytes={start}-{end - 1}"


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _missing(error: Any) -> bool:
    return _code(error) in MISSING_CODES


class S3Stores:
    """One aiobotocore client (created on first use) shared by every project's store."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint: str | None = None,
        region: str = "us-east-1",
        prefix: str = "",
        path_style: bool = False,
        access_key: str | None = None,
        secret_key: str | None = None,
        session: Any = None,
    ) -> None:
        self.bucket = bucket
        self.endpoint = endpoint
        self.region = region
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.path_style = path_style
        self._credentials = {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key}
        self._session = session or get_session()
        self._client: Any = None
        self._exit = contextlib.AsyncExitStack()
        self._lock = anyio.Lock()

    @classmethod
    def from_url(
        cls, url: str, access_key: str | None, secret_key: str | None, *, session: Any = None
    ) -> S3Stores:
        """``s3://<bucket>?endpoint=http://127.0.0.1:8333&region=us-east-1&prefix=apprun
        &path_style=true``: no endpoint means AWS; ``path_style`` defaults to true when an
        endpoint is given (S3-compatible servers rarely have per-bucket host names). Without
        keys, botocore's usual chain applies (environment, profile, instance role). ``session``:
        an aiobotocore session to share (its service models load once), else a new one."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"an S3 storage URL is s3://<bucket>?…, not {url!r}")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        unknown = set(query) - URL_OPTIONS
        if unknown:
            raise ValueError(f"unknown S3 storage URL options: {', '.join(sorted(unknown))}")
        endpoint = query.get("endpoint") or None
        path_style = query.get("path_style", "true" if endpoint else "false").lower()
        if path_style not in ("true", "false"):
            raise ValueError(f"path_style must be true or false, not {path_style!r}")
        return cls(
            parts.hostname,
            endpoint=endpoint,
            region=query.get("region") or "us-east-1",
            prefix=query.get("prefix", ""),
            path_style=path_style == "true",
            access_key=access_key,
            secret_key=secret_key,
            session=session,
        )

    def project(self, project: str) -> S3Store:
        if not project or "/" in project or project in (".", ".."):
            raise ValueError(f"not a project name: {project!r}")
        return S3Store(self, f"{self.prefix}{project}/")

    async def client(self) -> Any:
        """The shared aiobotocore S3 client."""
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await self._exit.enter_async_context(self._create_client())
        return self._client

    def _create_client(self) -> Any:
        config = AioConfig(
            s3={"addressing_style": "path" if self.path_style else "auto"},
            retries={"mode": "standard", "max_attempts": 5},
            # S3-compatible servers often reject the newer default (aws-chunked trailers).
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return self._session.create_client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            config=config,
            **self._credentials,
        )

    async def delete_names(self, names: list[str]) -> None:
        """Delete full object names (missing ones are no error), 1000 a request."""
        s3 = await self.client()
        for first in range(0, len(names), DELETE_BATCH):
            batch = [{"Key": name} for name in names[first : first + DELETE_BATCH]]
            answer = await s3.delete_objects(
                Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            failed = [
                error for error in answer.get("Errors", []) if error.get("Code") != "NoSuchKey"
            ]
            if failed:
                raise OSError(f"S3 refused to delete {len(failed)} objects, first: {failed[0]}")

    async def list_names(self, prefix: str) -> AsyncIterator[dict[str, Any]]:
        """The ListObjectsV2 entries whose full name starts with ``prefix``."""
        s3 = await self.client()
        async for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            for item in page.get("Contents", []):
                yield item

    async def drop_project(self, project: str) -> None:
        root = self.project(project).root
        batch: list[str] = []
        async for item in self.list_names(root):
            batch.append(str(item["Key"]))
            if len(batch) == DELETE_BATCH:
                await self.delete_names(batch)
                batch = []
        await self.delete_names(batch)
        await self._abort_uploads(root)

    async def _abort_uploads(self, prefix: str) -> None:
        """Abort multipart uploads left under ``prefix`` (by a process that died mid-write)."""
        s3 = await self.client()
        async for page in s3.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            for upload in page.get("Uploads", []):
                with contextlib.suppress(ClientError):
                    await s3.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )

    async def close(self) -> None:
        async with self._lock:
            self._client = None
            await self._exit.aclose()
            self._exit = contextlib.AsyncExitStack()
