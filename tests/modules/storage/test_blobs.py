"""The BlobStore contract, on the disk store and on S3 (a real SeaweedFS, ``seaweed``)."""

from __future__ import annotations

import gc
import hashlib
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from aiobotocore.session import get_session

from apprun.modules.storage.blobs import BlobMissing, BlobStore, BlobStores, DiskStores
from apprun.modules.storage.blobs.s3 import PART_SIZE, S3Stores
from apprun.testing.seaweed import Seaweed

SESSION = get_session()  # loads the S3 service model once for every test

pytestmark = pytest.mark.anyio
MiB = 1024 * 1024


class StreamBroke(Exception):
    pass


@dataclass
class Backend:
    stores: BlobStores
    leftovers: Callable[[], list[str]]
    """What a failed write could leave behind: temporary files, pending multipart uploads."""

    def store(self, project: str = "p1") -> BlobStore:
        return self.stores.project(project)


def disk_backend(root: Path) -> Backend:
    def leftovers() -> list[str]:
        return [str(path) for path in root.glob("*/.tmp/*")]

    return Backend(DiskStores(root), leftovers)


def s3_backend(seaweed: Seaweed) -> Backend:
    prefix = f"t-{uuid.uuid4().hex}"  # the tests share one bucket
    stores = S3Stores.from_url(
        seaweed.url_for(prefix), seaweed.access_key, seaweed.secret_key, session=SESSION
    )
    client = seaweed.client

    def leftovers() -> list[str]:
        uploads = client.list_multipart_uploads(Bucket=seaweed.bucket, Prefix=prefix + "/")
        return [str(upload["Key"]) for upload in uploads.get("Uploads", [])]

    return Backend(stores, leftovers)


@pytest.fixture(params=["disk", "s3"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "disk":
        chosen = disk_backend(tmp_path / "blobs")
    else:
        chosen = s3_backend(request.getfixturevalue("seaweed"))
    yield chosen
    await chosen.stores.close()


@pytest.fixture
def store(backend: Backend) -> BlobStore:
    return backend.store()


def block(number: int) -> bytes:
    """1 MiB that differs from one block to the next."""
    return hashlib.sha256(number.to_bytes(8, "big")).digest() * (MiB // 32)


def pieces(size: int, chunk: int) -> Iterator[bytes]:
    """``size`` bytes of the same content whatever ``chunk`` is, made on the fly."""
    pending = b""
    number = 0
    sent = 0
    while sent < size:
        while len(pending) < min(chunk, size - sent):
            pending += block(number)
            number += 1
        piece, pending = pending[: min(chunk, size - sent)], pending[min(chunk, size - sent) :]
        sent += len(piece)
        yield piece


async def generated(size: int, chunk: int = MiB) -> AsyncIterator[bytes]:
    for piece in pieces(size, chunk):
        yield piece


def generated_md5(size: int) -> str:
    digest = hashlib.md5()  # noqa: S324 - a checksum, not security
    for piece in pieces(size, MiB):
        digest.update(piece)
    return digest.hexdigest()


def generated_bytes(size: int) -> bytes:
    return b"".join(pieces(size, MiB))


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def breaking(size: int) -> AsyncIterator[bytes]:
    async for chunk in generated(size):
        yield chunk
    raise StreamBroke


async def read(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in await store.open(key, start, end)])


async def md5_of(store: BlobStore, key: str) -> tuple[str, int]:
    digest = hashlib.md5()  # noqa: S324 - a checksum, not security
    largest = 0
    async for chunk in await store.open(key):
        digest.update(chunk)
        largest = max(largest, len(chunk))
    return digest.hexdigest(), largest


async def test_write_then_read(store: BlobStore) -> None:
    await store.write("objects/a", generated(3 * MiB + 5, chunk=100_000))
    assert await read(store, "objects/a") == generated_bytes(3 * MiB + 5)
    assert await store.size("objects/a") == 3 * MiB + 5


async def test_empty_blob(store: BlobStore) -> None:
    await store.write("objects/empty", one(b""))
    assert await store.size("objects/empty") == 0
    assert await read(store, "objects/empty") == b""
    assert await read(store, "objects/empty", 0, 10) == b""
    assert await read(store, "objects/empty", 3) == b""


DATA = bytes(range(256)) * 4
RANGES = [
    (0, None, DATA),
    (10, None, DATA[10:]),
    (10, 20, DATA[10:20]),
    (0, 1, DATA[:1]),
    (1023, None, DATA[1023:]),
    (1000, 5000, DATA[1000:]),
    (1024, None, b""),
    (2000, None, b""),
    (2000, 3000, b""),
    (5, 5, b""),
    (10, 5, b""),
]


@pytest.mark.parametrize(("start", "end", "expected"), RANGES)
async def test_ranges(store: BlobStore, start: int, end: int | None, expected: bytes) -> None:
    await store.write("objects/r", one(DATA))
    assert await read(store, "objects/r", start, end) == expected


@pytest.mark.parametrize(("start", "end"), [(0, None), (5, None), (5, 10), (5, 5)])
async def test_open_missing_raises_before_iterating(
    store: BlobStore, start: int, end: int | None
) -> None:
    with pytest.raises(BlobMissing):
        await store.open("objects/nope", start, end)


async def test_size_and_missing(store: BlobStore) -> None:
    await store.write("objects/s", one(b"12345"))
    assert await store.size("objects/s") == 5
    assert await store.size("objects/nope") is None


async def test_overwrite_replaces_atomically(store: BlobStore) -> None:
    await store.write("objects/o", one(b"old"))
    released = anyio.Event()

    async def slow_new() -> AsyncIterator[bytes]:
        async for chunk in generated(12 * MiB):  # past one part: a multipart upload on S3
            yield chunk
        await released.wait()
        yield b"tail"

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(store.write, "objects/o", slow_new())
        await anyio.sleep(0.5)
        assert await read(store, "objects/o") == b"old"  # the new one is not there yet
        released.set()
    assert await store.size("objects/o") == 12 * MiB + 4
    assert await read(store, "objects/o") == generated_bytes(12 * MiB) + b"tail"

    await store.write("objects/o", one(b"shorter"))
    assert await read(store, "objects/o") == b"shorter"


async def test_failed_overwrite_keeps_the_old_blob(backend: Backend, store: BlobStore) -> None:
    await store.write("objects/k", one(b"kept"))
    with pytest.raises(StreamBroke):
        await store.write("objects/k", breaking(10 * MiB))
    assert await read(store, "objects/k") == b"kept"
    assert backend.leftovers() == []


async def test_copy(store: BlobStore) -> None:
    await store.write("objects/src", one(b"copied bytes"))
    await store.copy("objects/src", "objects/dst")
    assert await read(store, "objects/dst") == b"copied bytes"
    assert await read(store, "objects/src") == b"copied bytes"
    with pytest.raises(BlobMissing):
        await store.copy("objects/nope", "objects/dst2")
    assert await store.size("objects/dst2") is None


async def test_delete_ignores_missing(store: BlobStore) -> None:
    await store.write("objects/d1", one(b"1"))
    await store.write("objects/d2", one(b"2"))
    await store.delete(["objects/d1", "objects/nope", "objects/d2"])
    assert await store.size("objects/d1") is None
    assert await store.size("objects/d2") is None
    await store.delete([])


async def test_delete_more_than_one_batch(store: BlobStore) -> None:
    keys = [f"uploads/u/{number}" for number in range(1003)]  # DeleteObjects takes 1000
    limiter = anyio.CapacityLimiter(32)

    async def put(key: str) -> None:
        async with limiter:
            await store.write(key, one(b"x"))

    async with anyio.create_task_group() as tasks:
        for key in keys:
            tasks.start_soon(put, key)
    await store.delete(keys)
    assert [entry async for entry in store.list("uploads/")] == []


async def test_list_by_prefix(backend: Backend, store: BlobStore) -> None:
    before = datetime.now(UTC) - timedelta(minutes=1)
    for key, body in [
        ("objects/a", b"a"),
        ("objects/b", b"bb"),
        ("uploads/x/1", b"ccc"),
        ("derived/a/d", b"dddd"),
    ]:
        await store.write(key, one(body))
    await backend.store("p2").write("objects/other", one(b"not mine"))

    entries = [entry async for entry in store.list("objects/")]
    assert sorted((e.key, e.size) for e in entries) == [("objects/a", 1), ("objects/b", 2)]
    assert all(before < e.modified < datetime.now(UTC) + timedelta(minutes=1) for e in entries)
    everything = sorted([entry.key async for entry in store.list("")])
    assert everything == ["derived/a/d", "objects/a", "objects/b", "uploads/x/1"]
    assert [entry.key async for entry in store.list("uploads/x/")] == ["uploads/x/1"]
    assert [entry async for entry in store.list("nothing/")] == []


async def test_drop_project(backend: Backend) -> None:
    await backend.store("p1").write("objects/a", one(b"a"))
    await backend.store("p1").write("derived/a/b", one(b"b"))
    await backend.store("p2").write("objects/a", one(b"kept"))
    await backend.stores.drop_project("p1")
    assert [entry async for entry in backend.store("p1").list("")] == []
    assert await read(backend.store("p2"), "objects/a") == b"kept"
    await backend.stores.drop_project("never-existed")


@pytest.mark.parametrize("size", [3 * 1024, PART_SIZE + 1, 20 * MiB])
async def test_a_stream_that_raises_leaves_nothing(
    backend: Backend, store: BlobStore, size: int
) -> None:
    with pytest.raises(StreamBroke):
        await store.write("objects/broken", breaking(size))
    assert await store.size("objects/broken") is None
    assert [entry async for entry in store.list("")] == []
    assert backend.leftovers() == []


async def test_a_cancelled_write_leaves_nothing(backend: Backend, store: BlobStore) -> None:
    async def stalls() -> AsyncIterator[bytes]:
        async for chunk in generated(20 * MiB):
            yield chunk
        await anyio.sleep_forever()
        yield b"never"

    with anyio.move_on_after(1.5) as scope:
        await store.write("objects/cancelled", stalls())
    assert scope.cancelled_caught
    assert await store.size("objects/cancelled") is None
    assert backend.leftovers() == []


async def test_multipart_round_trip(store: BlobStore) -> None:
    size = 40 * MiB + 12345
    await store.write("objects/big", generated(size, chunk=777_777))  # chunks across parts
    assert await store.size("objects/big") == size
    md5, largest = await md5_of(store, "objects/big")
    assert md5 == generated_md5(size)
    assert largest <= 4 * MiB
    whole = generated_bytes(size)
    around_a_part = (PART_SIZE - 10, PART_SIZE + 10)
    assert await read(store, "objects/big", *around_a_part) == whole[slice(*around_a_part)]
    assert await read(store, "objects/big", size - 3) == whole[-3:]


async def test_abandoned_reads_are_closed(store: BlobStore) -> None:
    await store.write("objects/many", generated(3 * MiB))
    with anyio.fail_after(20):  # more than the S3 client's 10 pooled connections
        for _ in range(25):
            chunks = await store.open("objects/many")
            assert await chunks.__anext__()
            del chunks
        assert len(await read(store, "objects/many")) == 3 * MiB


async def test_unread_iterators_are_closed(store: BlobStore) -> None:
    await store.write("objects/unread", one(b"unread"))
    with warnings.catch_warnings(record=True) as caught, anyio.fail_after(20):
        warnings.simplefilter("always")
        for _ in range(25):
            await store.open("objects/unread")
        gc.collect()
        assert await read(store, "objects/unread") == b"unread"
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def peak_rss_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM := VmRSS


def peak_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


async def test_memory_stays_flat(store: BlobStore) -> None:
    size = 256 * MiB
    await store.write("objects/warm", one(b"first use: clients, service models"))
    peak_rss_reset()
    baseline = peak_rss()
    await store.write("objects/huge", generated(size))
    written = peak_rss() - baseline

    peak_rss_reset()
    baseline = peak_rss()
    md5, _ = await md5_of(store, "objects/huge")
    read_back = peak_rss() - baseline

    assert md5 == generated_md5(size)
    assert written < 64 * MiB, f"writing {size} bytes raised the peak RSS by {written}"
    assert read_back < 64 * MiB, f"reading {size} bytes raised the peak RSS by {read_back}"


URLS = [
    (
        "s3://media?endpoint=http://127.0.0.1:8333&region=eu-west-3&prefix=/apprun/&path_style=true",
        ("media", "http://127.0.0.1:8333", "eu-west-3", "apprun/", True),
    ),
    ("s3://media", ("media", None, "us-east-1", "", False)),
    (
        "s3://media?endpoint=http://s3.local:9000",
        ("media", "http://s3.local:9000", "us-east-1", "", True),
    ),
    (
        "s3://media?endpoint=https://x&path_style=false",
        ("media", "https://x", "us-east-1", "", False),
    ),
]


@pytest.mark.parametrize(("url", "expected"), URLS)
def test_from_url(url: str, expected: tuple[object, ...]) -> None:
    stores = S3Stores.from_url(url, "key", "secret")
    assert (stores.bucket, stores.endpoint, stores.region, stores.prefix, stores.path_style) == (
        expected
    )
    assert stores.name == "s3"


@pytest.mark.parametrize(
    "url", ["s3://", "s3://media/path", "s3://media?bucket=x", "s3://m?path_style=yes", "gs://m"]
)
def test_from_url_refuses(url: str) -> None:
    with pytest.raises(ValueError, match=r"S3|path_style"):
        S3Stores.from_url(url, None, None)


def test_project_keys_live_under_the_prefix() -> None:
    stores = S3Stores.from_url("s3://media?prefix=apprun", None, None)
    assert stores.project("default").root == "apprun/default/"
    with pytest.raises(ValueError, match="project"):
        stores.project("a/b")
