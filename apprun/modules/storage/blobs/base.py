"""The contract every blob store meets; ``tests/modules/storage/test_blobs.py`` checks it
on each backend."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class BlobMissing(LookupError):
    """The blob is not in the store."""


@dataclass(frozen=True, slots=True)
class BlobEntry:
    key: str
    size: int
    modified: datetime


class BlobStore(Protocol):
    """The bytes of one project."""

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        """Store the stream under ``key``, atomically: the blob appears only once all of it
        is durable; if the stream raises, nothing is left behind and the error propagates."""
        ...

    async def open(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes ``[start, end)`` (to the end when ``end`` is None) as chunks of at most
        a few MiB. Raises BlobMissing *before* returning when the blob does not exist."""
        ...

    async def size(self, key: str) -> int | None:
        """The blob's size, or None when it does not exist."""
        ...

    async def copy(self, source: str, target: str) -> None:
        """Copy a blob (BlobMissing when ``source`` does not exist)."""
        ...

    async def delete(self, keys: list[str]) -> None:
        """Remove blobs; missing ones are ignored."""
        ...

    def list(self, prefix: str) -> AsyncIterator[BlobEntry]:
        """Every blob whose key starts with ``prefix`` (for sweeps), in no particular order."""
        ...


class BlobStores(Protocol):
    """The stores of every project, sharing one client or root."""

    name: str
    """``disk`` or ``s3``."""

    def project(self, project: str) -> BlobStore: ...

    async def drop_project(self, project: str) -> None:
        """Remove every blob of a deleted project."""
        ...

    async def close(self) -> None: ...
