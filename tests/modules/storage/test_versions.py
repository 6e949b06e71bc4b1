"""Kept versions: pruning, list, download, restore, delete, and what plain buckets keep."""

from __future__ import annotations

from typing import Any

import pytest

from tests.modules.storage.conftest import Kit, storage_error

pytestmark = pytest.mark.anyio
OBJECT = "/storage/v1/object"


async def write(kit: Kit, bucket: str, key: str, text: str) -> None:
    response = await kit.put(bucket, key, text.encode(), **{"x-upsert": "true"})
    assert response.status_code == 200, response.text


async def history(kit: Kit, bucket: str, key: str) -> list[dict[str, Any]]:
    response = await kit.client.get(
        f"{OBJECT}/versions/{bucket}/{key}", headers=await kit.service()
    )
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


async def body_of(kit: Kit, bucket: str, key: str, version: str) -> bytes:
    response = await kit.client.get(
        f"{OBJECT}/{bucket}/{key}?version={version}", headers=await kit.service()
    )
    assert response.status_code == 200, response.text
    return response.content


async def blob_count(kit: Kit) -> int:
    blobs = kit.env.services.storage.blobs.project(kit.project)
    return len([entry async for entry in blobs.list("objects/")])


async def test_versions_are_listed_pruned_and_downloadable(kit: Kit) -> None:
    await kit.bucket("docs", versioning=True, max_versions=2)
    for text in ("one", "two", "three", "four"):
        await write(kit, "docs", "a.txt", text)
    listed = await history(kit, "docs", "a.txt")
    assert [v["is_latest"] for v in listed] == [True, False, False]
    assert listed[0]["archived_at"] is None and listed[1]["archived_at"] is not None
    bodies = [await body_of(kit, "docs", "a.txt", v["version"]) for v in listed]
    assert bodies == [b"four", b"three", b"two"]
    assert await blob_count(kit) == 3  # "one" was pruned with its bytes
    old = await kit.client.get(
        f"{OBJECT}/docs/a.txt?version={listed[2]['version']}", headers=await kit.service()
    )
    assert old.headers["etag"] == listed[2]["etag"]


async def test_unknown_version(kit: Kit) -> None:
    await kit.bucket("docs", versioning=True)
    await write(kit, "docs", "a.txt", "one")
    service = await kit.service()
    missing = await kit.client.get(f"{OBJECT}/docs/a.txt?version=nope", headers=service)
    assert storage_error(missing) == (400, "404", "NoSuchVersion")
    gone = await kit.client.get(f"{OBJECT}/versions/docs/b.txt", headers=service)
    assert storage_error(gone) == (400, "404", "NoSuchKey")
    restore = await kit.client.post(
        f"{OBJECT}/versions/docs/a.txt/restore", headers=service, json={"version": "nope"}
    )
    assert storage_error(restore) == (400, "404", "NoSuchVersion")
    no_body = await kit.client.post(f"{OBJECT}/versions/docs/a.txt/restore", headers=service)
    assert storage_error(no_body) == (400, "400", "InvalidRequest")


async def test_restore_makes_a_copy_current(kit: Kit) -> None:
    await kit.bucket("docs", versioning=True, max_versions=3)
    await write(kit, "docs", "a.txt", "one")
    await write(kit, "docs", "a.txt", "two")
    first = (await history(kit, "docs", "a.txt"))[1]
    response = await kit.client.post(
        f"{OBJECT}/versions/docs/a.txt/restore",
        headers=await kit.service(),
        json={"version": first["version"]},
    )
    assert response.status_code == 200, response.text
    restored = response.json()
    assert restored["is_latest"] is True and restored["version"] != first["version"]
    current = await kit.client.get(f"{OBJECT}/docs/a.txt", headers=await kit.service())
    assert current.content == b"one"
    listed = await history(kit, "docs", "a.txt")
    assert [await body_of(kit, "docs", "a.txt", v["version"]) for v in listed] == [
        b"one",
        b"two",
        b"one",
    ]


async def test_delete_one_version(kit: Kit) -> None:
    await kit.bucket("docs", versioning=True)
    await write(kit, "docs", "a.txt", "one")
    await write(kit, "docs", "a.txt", "two")
    current, old = await history(kit, "docs", "a.txt")
    service = await kit.service()
    response = await kit.client.delete(
        f"{OBJECT}/versions/docs/a.txt?version={old['version']}", headers=service
    )
    assert response.status_code == 200, response.text
    assert [v["version"] for v in await history(kit, "docs", "a.txt")] == [current["version"]]
    assert await blob_count(kit) == 1
    again = await kit.client.delete(
        f"{OBJECT}/versions/docs/a.txt?version={old['version']}", headers=service
    )
    assert storage_error(again) == (400, "404", "NoSuchVersion")
    of_current = await kit.client.delete(
        f"{OBJECT}/versions/docs/a.txt?version={current['version']}", headers=service
    )
    assert storage_error(of_current) == (400, "400", "InvalidRequest")


async def test_a_plain_bucket_keeps_nothing(kit: Kit) -> None:
    await kit.bucket("plain")
    await write(kit, "plain", "a.txt", "one")
    await write(kit, "plain", "a.txt", "two")
    listed = await history(kit, "plain", "a.txt")
    assert [v["is_latest"] for v in listed] == [True]
    assert await blob_count(kit) == 1


async def test_a_deleted_object_stays_restorable(kit: Kit) -> None:
    await kit.bucket("docs", versioning=True)
    await write(kit, "docs", "a.txt", "one")
    service = await kit.service()
    deleted = await kit.client.delete(f"{OBJECT}/docs/a.txt", headers=service)
    assert deleted.status_code == 200, deleted.text
    (kept,) = await history(kit, "docs", "a.txt")
    assert kept["is_latest"] is False
    response = await kit.client.post(
        f"{OBJECT}/versions/docs/a.txt/restore", headers=service, json={"version": kept["version"]}
    )
    assert response.status_code == 200, response.text
    current = await kit.client.get(f"{OBJECT}/docs/a.txt", headers=service)
    assert current.content == b"one"


async def test_policies_apply_to_versions(kit: Kit) -> None:
    await kit.bucket(
        "mine",
        versioning=True,
        policies={
            "select": "owner = @auth.id",
            "insert": "owner = @auth.id",
            "update": "owner = @auth.id",
            "delete": "owner = @auth.id",
        },
        grants={"authenticated": ["read", "write", "delete"]},
    )
    _, alice = await kit.user("alice@example.com")
    _, bob = await kit.user("bob@example.com")
    for text in ("one", "two"):
        response = await kit.put(
            "mine", "a.txt", text.encode(), headers=alice, **{"x-upsert": "true"}
        )
        assert response.status_code == 200, response.text
    listed = await kit.client.get(f"{OBJECT}/versions/mine/a.txt", headers=alice)
    assert listed.status_code == 200, listed.text
    old = listed.json()[1]["version"]
    hidden = await kit.client.get(f"{OBJECT}/versions/mine/a.txt", headers=bob)
    assert storage_error(hidden) == (400, "404", "NoSuchKey")
    download = await kit.client.get(f"{OBJECT}/mine/a.txt?version={old}", headers=bob)
    assert storage_error(download) == (400, "404", "NoSuchVersion")
    restore = await kit.client.post(
        f"{OBJECT}/versions/mine/a.txt/restore", headers=bob, json={"version": old}
    )
    assert storage_error(restore) == (400, "404", "NoSuchVersion")
    delete = await kit.client.delete(f"{OBJECT}/versions/mine/a.txt?version={old}", headers=bob)
    assert storage_error(delete) == (400, "404", "NoSuchVersion")
    own = await kit.client.get(f"{OBJECT}/mine/a.txt?version={old}", headers=alice)
    assert own.content == b"one"
