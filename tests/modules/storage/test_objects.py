"""Objects: uploads (raw and multipart), upsert, info, move, copy, delete, keys and hooks."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import quote

import pytest

from apprun.core.hooks import Hook
from tests.modules.storage.conftest import Kit, storage_error

pytestmark = pytest.mark.anyio
INFO_KEYS = {
    "id",
    "name",
    "version",
    "bucket_id",
    "size",
    "content_type",
    "cache_control",
    "etag",
    "metadata",
    "last_modified",
    "created_at",
}
ROW_KEYS = {
    "name",
    "bucket_id",
    "owner",
    "owner_id",
    "version",
    "id",
    "created_at",
    "updated_at",
    "last_accessed_at",
    "metadata",
    "user_metadata",
}


def encoded(key: str) -> str:
    """``key`` as a URL path that reaches the server unchanged (dot segments included)."""
    return "/".join(
        "%2E" * len(part) if part in (".", "..") else quote(part, safe="")
        for part in key.split("/")
    )


async def info(kit: Kit, bucket: str, key: str) -> dict[str, Any]:
    response = await kit.client.get(
        f"/storage/v1/object/info/{bucket}/{key}", headers=await kit.service()
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_raw_upload_and_info(kit: Kit) -> None:
    await kit.bucket("b")
    meta = base64.b64encode(json.dumps({"k": "v"}).encode()).decode()
    response = await kit.put(
        "b",
        "dir/a.json",
        b'{"x": 1}',
        content_type="application/json",
        **{"cache-control": "max-age=60", "x-metadata": meta},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"Id", "Key"} and body["Key"] == "b/dir/a.json"
    got = await info(kit, "b", "dir/a.json")
    assert set(got) == INFO_KEYS
    assert got["id"] == body["Id"] and got["name"] == "dir/a.json" and got["bucket_id"] == "b"
    assert got["size"] == 8 and got["content_type"] == "application/json"
    assert got["cache_control"] == "max-age=60"
    digest = hashlib.md5(b'{"x": 1}', usedforsecurity=False).hexdigest()
    assert got["etag"] == f'"{digest}"'
    assert got["metadata"] == {"k": "v"}
    assert got["last_modified"].endswith("Z") and got["created_at"].endswith("Z")
    download = await kit.client.get("/storage/v1/object/b/dir/a.json", headers=await kit.service())
    assert download.content == b'{"x": 1}'


async def test_raw_defaults_and_bad_metadata(kit: Kit) -> None:
    await kit.bucket("b")
    sent = {**await kit.service(), "x-metadata": "%%%not base64"}
    response = await kit.client.post("/storage/v1/object/b/raw", headers=sent, content=b"abc")
    assert response.status_code == 200, response.text
    got = await info(kit, "b", "raw")
    assert got["content_type"] == "application/octet-stream"
    assert got["cache_control"] == "no-cache" and got["metadata"] is None


async def test_multipart_any_field_name(kit: Kit) -> None:
    await kit.bucket("b")
    response = await kit.client.post(
        "/storage/v1/object/b/m.txt",
        headers=await kit.service(),
        data={"cacheControl": "3600", "metadata": json.dumps({"a": 1})},
        files={"": ("m.txt", b"multipart!", "text/plain;charset=UTF-8")},
    )
    assert response.status_code == 200, response.text
    got = await info(kit, "b", "m.txt")
    assert got["size"] == 10 and got["cache_control"] == "max-age=3600"
    assert got["content_type"] == "text/plain;charset=UTF-8" and got["metadata"] == {"a": 1}
    typed = await kit.client.post(
        "/storage/v1/object/b/n.bin",
        headers=await kit.service(),
        data={"contentType": "application/pdf", "metadata": "{broken"},
        files={"file": ("n.bin", b"%PDF-1.4 fake", "application/octet-stream")},
    )
    assert typed.status_code == 200, typed.text
    n = await info(kit, "b", "n.bin")
    assert n["content_type"] == "application/pdf" and n["metadata"] is None
    assert n["cache_control"] == "no-cache"


async def test_no_content(kit: Kit) -> None:
    await kit.bucket("b")
    empty = await kit.put("b", "e.txt", b"")
    assert storage_error(empty) == (400, "400", "InvalidRequest")
    assert empty.json()["message"] == "No content provided"
    boundary = "xyz"
    only_fields = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="cacheControl"\r\n\r\n1\r\n'
        f"--{boundary}--\r\n"
    )
    form = await kit.client.post(
        "/storage/v1/object/b/f.txt",
        headers={
            **await kit.service(),
            "content-type": f"multipart/form-data; boundary={boundary}",
        },
        content=only_fields.encode(),
    )
    assert storage_error(form) == (400, "400", "InvalidRequest")
    assert form.json()["message"] == "No content provided"
    missing = await kit.put("none", "a.txt", b"x")
    assert storage_error(missing) == (400, "404", "NoSuchBucket")


async def test_upsert(kit: Kit) -> None:
    await kit.bucket("b")
    first = await kit.put("b", "k.txt", b"one", **{"x-upsert": "false"})
    again = await kit.put("b", "k.txt", b"two", **{"x-upsert": "false"})
    assert storage_error(again) == (400, "409", "KeyAlreadyExists")
    assert again.json()["error"] == "Duplicate"
    meta = base64.b64encode(b'{"v": 2}').decode()
    over = await kit.put("b", "k.txt", b"three", **{"x-upsert": "true", "x-metadata": meta})
    assert over.status_code == 200 and over.json()["Id"] == first.json()["Id"]
    put = await kit.client.put(
        "/storage/v1/object/b/k.txt",
        headers={**await kit.service(), "content-type": "text/plain"},
        content=b"four!",
    )
    assert put.status_code == 200 and put.json()["Id"] == first.json()["Id"]
    got = await info(kit, "b", "k.txt")
    assert got["size"] == 5 and got["metadata"] is None
    created = await kit.client.put(
        "/storage/v1/object/b/new.txt", headers=await kit.service(), content=b"n"
    )
    assert created.status_code == 200 and created.json()["Key"] == "b/new.txt"


async def test_head_and_exists(kit: Kit) -> None:
    await kit.bucket("b")
    await kit.put("b", "h.txt", b"hello")
    head = await kit.client.head("/storage/v1/object/b/h.txt", headers=await kit.service())
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == "5" and head.headers["etag"].startswith('"')
    missing = await kit.client.head("/storage/v1/object/b/nope.txt", headers=await kit.service())
    assert missing.status_code == 400 and missing.content == b""
    gone = await kit.client.get("/storage/v1/object/info/b/nope.txt", headers=await kit.service())
    assert storage_error(gone) == (400, "404", "NoSuchKey")
    assert gone.json()["error"] == "not_found" and gone.json()["message"] == "Object not found"


@pytest.mark.parametrize(
    "key",
    [
        "..",
        "a/../b",
        "./a",
        "a/.",
        "a\x07b",
        "café.txt",
        "a%20b",
        "a#b",
        "a\\b",
        "x" * 1025,
        "a{b}",
        "a^b",
        "a|b",
        "a<b",
    ],
)
async def test_invalid_keys(kit: Kit, key: str) -> None:
    await kit.bucket("b")
    response = await kit.client.post(
        "/storage/v1/object/b/" + encoded(key),
        headers={**await kit.service(), "content-type": "text/plain"},
        content=b"x",
    )
    assert storage_error(response) == (400, "400", "InvalidKey"), key
    assert response.json()["message"].startswith("Invalid key: ")
    read = await kit.client.get(
        "/storage/v1/object/info/b/" + encoded(key),
        headers=await kit.service(),
    )
    assert storage_error(read)[2] == "InvalidKey", key


async def test_nul_in_keys(kit: Kit) -> None:
    await kit.bucket("b")
    await kit.put("b", "src.txt", b"x")
    in_url = await kit.put("b", "a%00b", b"x")
    assert storage_error(in_url) == (400, "400", "InvalidRequest")
    assert "NUL" in in_url.json()["message"]
    for route in ("copy", "move"):
        response = await kit.client.post(
            f"/storage/v1/object/{route}",
            headers=await kit.service(),
            json={"bucketId": "b", "sourceKey": "src.txt", "destinationKey": "a\x00b"},
        )
        assert storage_error(response) == (400, "400", "InvalidKey"), route
    deleted = await kit.client.request(
        "DELETE", "/storage/v1/object/b", headers=await kit.service(), json={"prefixes": ["\x00"]}
    )
    assert storage_error(deleted) == (400, "400", "InvalidKey")


async def test_keys_that_are_fine(kit: Kit) -> None:
    await kit.bucket("b")
    for key in ("a//b", "dir/", "x" * 1024, "sp ace (1)!.txt"):
        response = await kit.put("b", key, b"x")
        assert response.status_code == 200, (key, response.text)
        assert (await info(kit, "b", key))["name"] == key


async def test_folder_placeholder(kit: Kit) -> None:
    await kit.bucket("b", allowed_mime_types=["image/png"])
    service = await kit.service()
    key = "folder/.emptyFolderPlaceholder"
    empty = await kit.client.post(
        f"/storage/v1/object/b/{key}",
        headers=service,
        files={"": (".emptyFolderPlaceholder", b"", "text/plain")},
    )
    assert empty.status_code == 200, empty.text
    assert (await info(kit, "b", key))["size"] == 0
    full = await kit.client.post(
        "/storage/v1/object/b/other/.emptyFolderPlaceholder",
        headers=service,
        files={"": (".emptyFolderPlaceholder", b"data", "text/plain")},
    )
    assert storage_error(full) == (400, "413", "EntityTooLarge")


async def test_leading_slash_is_not_a_root(kit: Kit) -> None:
    await kit.bucket("b")
    response = await kit.put("b", "/abs.txt", b"x")
    assert storage_error(response) == (400, "400", "InvalidKey")
    read = await kit.client.get("/storage/v1/object/b//abs.txt", headers=await kit.service())
    assert storage_error(read)[2] == "InvalidKey"


async def test_move(kit: Kit) -> None:
    await kit.bucket("b")
    await kit.bucket("c")
    service = await kit.service()
    meta = base64.b64encode(b'{"m": 1}').decode()
    first = (await kit.put("b", "a.txt", b"aaa", **{"x-metadata": meta})).json()
    await kit.put("b", "taken.txt", b"t")
    moved = await kit.client.post(
        "/storage/v1/object/move",
        headers=service,
        json={"bucketId": "b", "sourceKey": "a.txt", "destinationKey": "f/a2.txt"},
    )
    assert moved.status_code == 200 and moved.json() == {"message": "Successfully moved"}
    got = await info(kit, "b", "f/a2.txt")
    assert got["id"] == first["Id"] and got["metadata"] == {"m": 1}
    old = await kit.client.get("/storage/v1/object/b/a.txt", headers=service)
    assert storage_error(old)[2] == "NoSuchKey"
    clash = await kit.client.post(
        "/storage/v1/object/move",
        headers=service,
        json={"bucketId": "b", "sourceKey": "f/a2.txt", "destinationKey": "taken.txt"},
    )
    assert storage_error(clash) == (400, "409", "ResourceAlreadyExists")
    across = await kit.client.post(
        "/storage/v1/object/move",
        headers=service,
        json={
            "bucketId": "b",
            "sourceKey": "f/a2.txt",
            "destinationKey": "x.txt",
            "destinationBucket": "c",
        },
    )
    assert across.status_code == 200, across.text
    there = await kit.client.get("/storage/v1/object/c/x.txt", headers=service)
    assert there.content == b"aaa"
    missing = await kit.client.post(
        "/storage/v1/object/move",
        headers=service,
        json={"bucketId": "b", "sourceKey": "nope", "destinationKey": "y"},
    )
    assert storage_error(missing) == (400, "404", "NoSuchKey")
    bad = await kit.client.post(
        "/storage/v1/object/move",
        headers=service,
        json={"bucketId": "c", "sourceKey": "x.txt", "destinationKey": "../y"},
    )
    assert storage_error(bad)[2] == "InvalidKey"
    no_key = await kit.client.post("/storage/v1/object/move", headers=service, json={})
    assert storage_error(no_key)[2] == "InvalidRequest"


async def test_copy(kit: Kit) -> None:
    await kit.bucket("b")
    await kit.bucket("c")
    service = await kit.service()
    meta = base64.b64encode(b'{"m": 1}').decode()
    src = (
        await kit.put("b", "s.txt", b"src", **{"x-metadata": meta, "cache-control": "max-age=9"})
    ).json()
    copied = await kit.client.post(
        "/storage/v1/object/copy",
        headers=service,
        json={"bucketId": "b", "sourceKey": "s.txt", "destinationKey": "d.txt"},
    )
    assert copied.status_code == 200, copied.text
    body = copied.json()
    assert set(body) == {"Id", "Key", *ROW_KEYS}
    assert body["Key"] == "b/d.txt" and body["Id"] != src["Id"] and body["id"] == body["Id"]
    assert body["user_metadata"] == {"m": 1} and body["metadata"]["cacheControl"] == "max-age=9"
    assert (await kit.client.get("/storage/v1/object/b/d.txt", headers=service)).content == b"src"
    taken = await kit.client.post(
        "/storage/v1/object/copy",
        headers=service,
        json={"bucketId": "b", "sourceKey": "s.txt", "destinationKey": "d.txt"},
    )
    assert storage_error(taken) == (400, "409", "KeyAlreadyExists")
    new_meta = base64.b64encode(b'{"n": 2}').decode()
    upsert = await kit.client.post(
        "/storage/v1/object/copy",
        headers={**service, "x-upsert": "true", "x-metadata": new_meta},
        json={
            "bucketId": "b",
            "sourceKey": "s.txt",
            "destinationKey": "d.txt",
            "destinationBucket": "b",
            "copyMetadata": False,
            "metadata": {"cacheControl": "max-age=1", "mimetype": "text/csv"},
        },
    )
    assert upsert.status_code == 200, upsert.text
    assert upsert.json()["Id"] == body["Id"]
    got = await info(kit, "b", "d.txt")
    assert got["content_type"] == "text/csv" and got["cache_control"] == "max-age=1"
    assert got["metadata"] == {"n": 2}
    across = await kit.client.post(
        "/storage/v1/object/copy",
        headers=service,
        json={
            "bucketId": "b",
            "sourceKey": "s.txt",
            "destinationKey": "s.txt",
            "destinationBucket": "c",
        },
    )
    assert across.json()["Key"] == "c/s.txt"
    missing = await kit.client.post(
        "/storage/v1/object/copy",
        headers=service,
        json={"bucketId": "b", "sourceKey": "none", "destinationKey": "z"},
    )
    assert storage_error(missing) == (400, "404", "NoSuchKey")


async def test_copy_then_delete_source_keeps_copy(kit: Kit) -> None:
    await kit.bucket("b")
    service = await kit.service()
    await kit.put("b", "s.txt", b"src")
    await kit.client.post(
        "/storage/v1/object/copy",
        headers=service,
        json={"bucketId": "b", "sourceKey": "s.txt", "destinationKey": "d.txt"},
    )
    await kit.client.request(
        "DELETE", "/storage/v1/object/b", headers=service, json={"prefixes": ["s.txt"]}
    )
    assert (await kit.client.get("/storage/v1/object/b/d.txt", headers=service)).content == b"src"


async def test_delete_batch_and_single(kit: Kit) -> None:
    await kit.bucket("b")
    service = await kit.service()
    for key in ("a.txt", "f/b.txt", "f/c.txt"):
        await kit.put("b", key, b"x")
    deleted = await kit.client.request(
        "DELETE",
        "/storage/v1/object/b",
        headers=service,
        json={"prefixes": ["a.txt", "missing.txt", "f"]},
    )
    assert deleted.status_code == 200, deleted.text
    rows = deleted.json()
    assert [r["name"] for r in rows] == ["a.txt"]
    assert set(rows[0]) == ROW_KEYS and rows[0]["metadata"]["size"] == 1
    none = await kit.client.request(
        "DELETE", "/storage/v1/object/b", headers=service, json={"prefixes": ["zzz"]}
    )
    assert none.status_code == 200 and none.json() == []
    bad = await kit.client.request(
        "DELETE", "/storage/v1/object/b", headers=service, json={"prefixes": []}
    )
    assert storage_error(bad)[2] == "InvalidRequest"
    one = await kit.client.delete("/storage/v1/object/b/f/b.txt", headers=service)
    assert one.status_code == 200 and one.json() == {"message": "Successfully deleted"}
    again = await kit.client.delete("/storage/v1/object/b/f/b.txt", headers=service)
    assert storage_error(again) == (400, "404", "NoSuchKey")


async def test_hooks(kit: Kit) -> None:
    seen: list[Hook] = []
    unsubscribe = kit.env.services.hooks.subscribe("storage.*", seen.append)
    try:
        await kit.bucket("h")
        service = await kit.service()
        await kit.put("h", "a.txt", b"1")
        await kit.put("h", "a.txt", b"22", **{"x-upsert": "true"})
        await kit.client.request(
            "DELETE", "/storage/v1/object/h", headers=service, json={"prefixes": ["a.txt"]}
        )
        await kit.client.put("/storage/v1/bucket/h", headers=service, json={"public": True})
        await kit.client.request("DELETE", "/storage/v1/bucket/h", headers=service, json={})
    finally:
        unsubscribe()
    assert [h.name for h in seen] == [
        "storage.bucket.created",
        "storage.object.created",
        "storage.object.updated",
        "storage.object.deleted",
        "storage.bucket.updated",
        "storage.bucket.deleted",
    ]
    assert all(h.project == "default" for h in seen)
    assert seen[2].payload.name == "a.txt" and seen[2].payload.object["size"] == 2
    assert seen[3].payload.bucket == "h"


async def test_copy_and_move_meet_the_destination_buckets_limits(kit: Kit) -> None:
    await kit.bucket("any")
    await kit.bucket("small", file_size_limit=4, allowed_mime_types=["image/*"])
    assert (await kit.put("any", "big.txt", b"more than four bytes")).status_code == 200
    service = await kit.service()
    body = {"bucketId": "any", "sourceKey": "big.txt", "destinationBucket": "small"}
    for route in ("copy", "move"):
        refused = await kit.client.post(
            f"/storage/v1/object/{route}",
            headers=service,
            json={**body, "destinationKey": f"{route}.txt"},
        )
        assert storage_error(refused) == (400, "413", "EntityTooLarge"), route
    await kit.bucket("images", allowed_mime_types=["image/*"])
    wrong = await kit.client.post(
        "/storage/v1/object/copy",
        headers=service,
        json={**body, "destinationBucket": "images", "destinationKey": "x.txt"},
    )
    assert storage_error(wrong) == (400, "415", "InvalidMimeType")
    listed = await kit.client.post(
        "/storage/v1/object/list/any", headers=service, json={"prefix": ""}
    )
    assert [entry["name"] for entry in listed.json()] == ["big.txt"]
