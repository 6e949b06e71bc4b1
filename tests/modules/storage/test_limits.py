"""Size limits, MIME rules, content sniffing and the project quota."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.modules.storage.conftest import Kit, storage_error

pytestmark = pytest.mark.anyio
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


async def count_rows(kit: Kit, bucket: str) -> int:
    response = await kit.client.post(
        f"/storage/v1/object/list-v2/{bucket}", headers=await kit.service(), json={}
    )
    return len(response.json()["objects"])


async def test_content_length_over_bucket_limit(kit: Kit) -> None:
    await kit.bucket("small", file_size_limit=10)
    ok = await kit.put("small", "ok.txt", b"0123456789")
    assert ok.status_code == 200
    before = await kit.blob_keys()
    big = await kit.put("small", "big.txt", b"01234567890")
    assert storage_error(big) == (400, "413", "EntityTooLarge")
    assert big.json()["message"] == "The object exceeded the maximum allowed size"
    form = await kit.client.post(
        "/storage/v1/object/small/form.txt",
        headers=await kit.service(),
        files={"": ("f.txt", b"x" * 11, "text/plain")},
    )
    assert storage_error(form) == (400, "413", "EntityTooLarge")
    assert await count_rows(kit, "small") == 1
    assert await kit.blob_keys() == before


async def test_chunked_body_over_limit_stores_nothing(kit: Kit) -> None:
    await kit.bucket("small", file_size_limit=100)
    before = await kit.blob_keys()

    async def body() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"y" * 40

    response = await kit.client.post(
        "/storage/v1/object/small/stream.bin",
        headers={**await kit.service(), "content-type": "application/octet-stream"},
        content=body(),
    )
    assert "content-length" not in response.request.headers
    assert storage_error(response) == (400, "413", "EntityTooLarge")
    assert await count_rows(kit, "small") == 0
    assert await kit.blob_keys() == before

    async def fits() -> AsyncIterator[bytes]:
        for _ in range(2):
            yield b"z" * 40

    ok = await kit.client.post(
        "/storage/v1/object/small/fits.bin",
        headers={**await kit.service(), "content-type": "application/octet-stream"},
        content=fits(),
    )
    assert ok.status_code == 200, ok.text
    assert len(await kit.blob_keys()) == len(before) + 1


@pytest.mark.parametrize(
    ("allowed", "declared", "ok"),
    [
        (["image/*"], "image/png", True),
        (["image/*"], "text/plain", False),
        (["text/plain"], "text/plain;charset=UTF-8", True),
        (["text/plain; charset=utf-8"], "text/plain", True),
        (["text/csv"], "text/plain", False),
        (["*/*"], "font/woff2", True),
    ],
)
async def test_allowed_mime_types(kit: Kit, allowed: list[str], declared: str, ok: bool) -> None:
    await kit.bucket("m", allowed_mime_types=allowed)
    data = PNG if declared == "image/png" else b"plain words"
    response = await kit.put("m", "f", data, content_type=declared)
    if ok:
        assert response.status_code == 200, response.text
    else:
        assert storage_error(response) == (400, "415", "InvalidMimeType")
        assert response.json()["message"] == f"mime type {declared} is not supported"


async def test_magic_bytes(kit: Kit) -> None:
    await kit.bucket("img", allowed_mime_types=["image/*"])
    await kit.bucket("any")
    before = await kit.blob_keys()
    fake = await kit.put(
        "img", "x.png", b"<!DOCTYPE html><script>1</script>", content_type="image/png"
    )
    assert storage_error(fake) == (400, "415", "InvalidMimeType")
    assert await kit.blob_keys() == before
    real = await kit.put("img", "r.png", PNG, content_type="application/octet-stream")
    assert real.status_code == 200, real.text
    sniffed = await kit.put("any", "r", PNG, content_type="application/octet-stream")
    assert sniffed.status_code == 200
    service = await kit.service()
    for bucket in ("img", "any"):
        key = "r.png" if bucket == "img" else "r"
        info = await kit.client.get(f"/storage/v1/object/info/{bucket}/{key}", headers=service)
        assert info.json()["content_type"] == "image/png"
    text = await kit.put("img", "t.png", b"just text", content_type="application/octet-stream")
    assert storage_error(text) == (400, "415", "InvalidMimeType")


async def quota(kit: Kit, **values: Any) -> dict[str, Any]:
    response = await kit.client.patch(
        "/storage/v1/admin/config", headers=await kit.service(), json=values
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_admin_config(kit: Kit) -> None:
    service = await kit.service()
    first = await kit.client.get("/storage/v1/admin/config", headers=service)
    assert first.status_code == 200
    assert first.json()["quota_bytes"] is None and first.json()["quota_objects"] is None
    set_ = await quota(kit, quota_bytes=1000)
    assert set_["quota_bytes"] == 1000 and set_["quota_objects"] is None
    both = await quota(kit, quota_objects=3)
    assert both["quota_bytes"] == 1000 and both["quota_objects"] == 3
    cleared = await quota(kit, quota_bytes=None)
    assert cleared["quota_bytes"] is None and cleared["quota_objects"] == 3
    got = await kit.client.get("/storage/v1/admin/config", headers=service)
    assert got.json()["quota_objects"] == 3 and got.json()["updated_at"].endswith("Z")
    for bad in ({}, {"quota_bytes": -1}, {"quota_objects": "3"}, {"quota_bytes": True}):
        response = await kit.client.patch("/storage/v1/admin/config", headers=service, json=bad)
        assert storage_error(response) == (400, "400", "InvalidRequest"), bad
    _, user = await kit.user("u@example.com")
    for headers in (user, await kit.anon()):
        denied = await kit.client.get("/storage/v1/admin/config", headers=headers)
        assert storage_error(denied) == (403, "403", "AccessDenied")
        patch = await kit.client.patch(
            "/storage/v1/admin/config", headers=headers, json={"quota_bytes": 1}
        )
        assert storage_error(patch) == (403, "403", "AccessDenied")


async def test_quota_bytes(kit: Kit) -> None:
    await kit.bucket("q")
    await quota(kit, quota_bytes=20)
    assert (await kit.put("q", "a", b"x" * 15)).status_code == 200
    over = await kit.put("q", "b", b"x" * 6)
    assert storage_error(over) == (400, "413", "QuotaExceeded")
    assert (await kit.put("q", "c", b"x" * 5)).status_code == 200
    shrink = await kit.put("q", "a", b"x" * 10, **{"x-upsert": "true"})
    assert shrink.status_code == 200, shrink.text
    grow = await kit.put("q", "a", b"x" * 16, **{"x-upsert": "true"})
    assert storage_error(grow) == (400, "413", "QuotaExceeded")
    same = await kit.put("q", "a", b"y" * 15, **{"x-upsert": "true"})
    assert same.status_code == 200, same.text
    copy = await kit.client.post(
        "/storage/v1/object/copy",
        headers=await kit.service(),
        json={"bucketId": "q", "sourceKey": "a", "destinationKey": "a2"},
    )
    assert storage_error(copy) == (400, "413", "QuotaExceeded")
    assert await count_rows(kit, "q") == 2


async def test_quota_chunked_overwrite_counts_difference(kit: Kit) -> None:
    await kit.bucket("q")
    await quota(kit, quota_bytes=100)
    assert (await kit.put("q", "a", b"x" * 90)).status_code == 200

    async def body() -> AsyncIterator[bytes]:
        yield b"z" * 95

    replaced = await kit.client.put(
        "/storage/v1/object/q/a", headers=await kit.service(), content=body()
    )
    assert replaced.status_code == 200, replaced.text


async def test_quota_objects(kit: Kit) -> None:
    await kit.bucket("q")
    await quota(kit, quota_objects=2)
    assert (await kit.put("q", "a", b"1")).status_code == 200
    assert (await kit.put("q", "b", b"2")).status_code == 200
    third = await kit.put("q", "c", b"3")
    assert storage_error(third) == (400, "413", "QuotaExceeded")
    assert "object" in third.json()["message"]
    overwrite = await kit.put("q", "b", b"22", **{"x-upsert": "true"})
    assert overwrite.status_code == 200, overwrite.text
    await quota(kit, quota_objects=None)
    assert (await kit.put("q", "c", b"3")).status_code == 200


@pytest.mark.parametrize("size", [1024 * 1024, 3 * 1024 * 1024])
async def test_user_metadata_limit(kit: Kit, size: int) -> None:
    await kit.bucket("m")
    huge = '{"k": "' + "x" * size + '"}'
    response = await kit.client.post(
        "/storage/v1/object/m/f.txt",
        headers=await kit.service(),
        data={"metadata": huge},
        files={"": ("f.txt", b"x", "text/plain")},
    )
    assert storage_error(response) == (400, "413", "EntityTooLarge")
    assert await count_rows(kit, "m") == 0
