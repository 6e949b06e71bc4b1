"""Blobs as files under ``<root>/<project>/``: written to a temporary file, fsynced, then
renamed into place, so a blob is either whole or absent."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import anyio

from apprun.modules.storage.blobs.base import BlobEntry, BlobMissing

CHUNK = 1024 * 1024
TMP = ".tmp"


class DiskStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        # Keys come from the storage module (ids and digests); refuse anything else anyway.
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") or "\\" in part for part in parts):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root.joinpath(*parts)

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        target = self._path(key)
        tmp_dir = self.root / TMP
        await anyio.to_thread.run_sync(lambda: tmp_dir.mkdir(parents=True, exist_ok=True))
        tmp = tmp_dir / uuid.uuid4().hex
        try:
            async with await anyio.open_file(tmp, "wb") as file:
                async for chunk in chunks:
                    if chunk:
                        await file.write(chunk)
                await file.flush()
                await anyio.to_thread.run_sync(os.fsync, file.wrapped.fileno())
            await anyio.to_thread.run_sync(_install, tmp, target)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: tmp.unlink(missing_ok=True))
            raise

    async def open(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            file = await anyio.to_thread.run_sync(path.open, "rb")
        except FileNotFoundError:
            raise BlobMissing(key) from None
        return _FileChunks(file, start, end)

    async def size(self, key: str) -> int | None:
        try:
            return (await anyio.Path(self._path(key)).stat()).st_size
        except FileNotFoundError:
            return None

    async def copy(self, source: str, target: str) -> None:
        try:
            chunks = await self.open(source)
        except BlobMissing:
            raise
        await self.write(target, chunks)

    async def delete(self, keys: list[str]) -> None:
        def remove() -> None:
            for key in keys:
                path = self._path(key)
                path.unlink(missing_ok=True)
                _prune(path.parent, self.root)

        await anyio.to_thread.run_sync(remove)

    async def list(self, prefix: str) -> AsyncIterator[BlobEntry]:
        entries = await anyio.to_thread.run_sync(_walk, self.root, prefix)
        for entry in entries:
            yield entry


class _FileChunks(AsyncIterator[bytes]):
    """A file's bytes ``[start, end)`` as chunks; the file is closed once read, on error, on
    ``aclose()``, or when the iterator is dropped unread."""

    def __init__(self, file: BinaryIO, start: int, end: int | None) -> None:
        self._file: BinaryIO | None = file
        self._position = start
        self._end = end

    async def __anext__(self) -> bytes:
        file = self._file
        if file is None:
            raise StopAsyncIteration
        size = CHUNK if self._end is None else min(CHUNK, self._end - self._position)
        try:
            chunk = await anyio.to_thread.run_sync(_read_at, file, self._position, size)
        except BaseException:
            self._close()
            raise
        if not chunk:
            self._close()
            raise StopAsyncIteration
        self._position += len(chunk)
        return chunk

    async def aclose(self) -> None:
        self._close()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __del__(self) -> None:
        self._close()


def _read_at(file: BinaryIO, position: int, size: int) -> bytes:
    if size <= 0:
        return b""
    file.seek(position)
    return file.read(size)


def _install(tmp: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _prune(directory: Path, root: Path) -> None:
    """Remove empty folders left by deletes, up to the root."""
    while directory != root and root in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def _walk(root: Path, prefix: str) -> list[BlobEntry]:
    found: list[BlobEntry] = []
    if not root.exists():
        return found
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            key = path.relative_to(root).as_posix()
            if key.startswith(TMP + "/") and not prefix.startswith(TMP):
                continue
            if key.startswith(prefix):
                stat = path.stat()
                modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                found.append(BlobEntry(key, stat.st_size, modified))
    return found


class DiskStores:
    name = "disk"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def project(self, project: str) -> DiskStore:
        return DiskStore(self.root / project)

    async def drop_project(self, project: str) -> None:
        await anyio.to_thread.run_sync(
            lambda: shutil.rmtree(self.root / project, ignore_errors=True)
        )

    async def close(self) -> None:
        return None
