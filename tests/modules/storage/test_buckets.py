"""Buckets: create, list, get, update, empty and delete, in Storage's wire shapes."""

from __future__ import annotations

from typing import Any

import pytest

from apprun.core.clock import ManualClock
from tests.modules.storage.conftest import Kit, storage_error

pytestmark = pytest.mark.anyio
BUCKET_KEYS = {
    "id",
    "name",
    "owner",
    "public",
    "type",
    "file_size_limit",
    "allowed_mime_types",
    "created_at",
    "updated_at",
    "versioning",
    "max_versions",
    "allow_inline_html",
    "policies",
}


async def create(kit: Kit, body: dict[str, Any]) -> Any:
    return await kit.client.post("/storage/v1/bucket", headers=await kit.service(), json=body)


async def get(kit: Kit, name: str) -> dict[str, Any]:
    response = await kit.client.get(f"/storage/v1/bucket/{name}", headers=await kit.service())
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_create_and_get_shape(kit: Kit) -> None:
    assert await kit.bucket("avatars", id="avatars", public=True) == {"name": "avatars"}
    got = await get(kit, "avatars")
    assert set(got) == BUCKET_KEYS
    assert got["id"] == "avatars" and got["name"] == "avatars"
    assert got["owner"] == "" and got["public"] is True and got["type"] == "STANDARD"
    assert got["file_size_limit"] is None and got["allowed_mime_types"] is None
    assert got["created_at"].endswith("Z") and len(got["created_at"]) == 24
    assert got["policies"] == {"select": None, "insert": None, "update": None, "delete": None}


async def test_create_with_id_only(kit: Kit) -> None:
    response = await create(kit, {"id": "only-id"})
    assert response.json() == {"name": "only-id"}
    assert (await get(kit, "only-id"))["public"] is False


@pytest.mark.parametrize(
    "name",
    ["", " lead", "trail ", "a/b", "a\\b", "x" * 101, "t--table-s3", "é", "a#b", 5],
)
async def test_create_bad_name(kit: Kit, name: Any) -> None:
    response = await create(kit, {"name": name})
    assert storage_error(response) == (400, "400", "InvalidBucketName")
    assert response.json()["error"] == "Invalid Input"


async def test_create_odd_but_valid_names(kit: Kit) -> None:
    for name in ("a b", "x" * 100, "we!rd-_.*'()&$@=;:+,?"):
        assert (await create(kit, {"name": name})).status_code == 200, name


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (1024, 1024),
        (0, 0),
        ("20MB", 20_000_000),
        ("3b", 3),
        ("30 KB", 30_000),
        ("0.05GB", 50_000_000),
    ],
)
async def test_file_size_limit_forms(kit: Kit, given: Any, stored: int) -> None:
    await kit.bucket("b", file_size_limit=given)
    assert (await get(kit, "b"))["file_size_limit"] == stored


@pytest.mark.parametrize("given", ["20XB", "MB", -1, True, "1e3", [1]])
async def test_file_size_limit_bad(kit: Kit, given: Any) -> None:
    response = await create(kit, {"name": "b", "file_size_limit": given})
    assert storage_error(response) == (400, "400", "InvalidRequest")
    assert response.json()["message"].startswith("Invalid file size format")


async def test_file_size_limit_over_global(kit: Kit) -> None:
    response = await create(kit, {"name": "b", "file_size_limit": "1GB"})
    assert storage_error(response) == (400, "413", "EntityTooLarge")
    assert (await kit.client.get("/storage/v1/bucket/b", headers=await kit.service())).json()[
        "code"
    ] == "NoSuchBucket"


async def test_allowed_mime_types(kit: Kit) -> None:
    await kit.bucket("m", allowed_mime_types=["image/*", "", "text/plain; charset=utf-8"])
    assert (await get(kit, "m"))["allowed_mime_types"] == ["image/*", "text/plain; charset=utf-8"]
    await kit.bucket("empty", allowed_mime_types=[""])
    assert (await get(kit, "empty"))["allowed_mime_types"] is None


@pytest.mark.parametrize("given", [["image"], ["image/png/x"], ["ima ge/png"], "image/png", [3]])
async def test_allowed_mime_types_bad(kit: Kit, given: Any) -> None:
    response = await create(kit, {"name": "m", "allowed_mime_types": given})
    assert storage_error(response) == (400, "415", "InvalidMimeType")


async def test_duplicate(kit: Kit) -> None:
    await kit.bucket("dup")
    response = await create(kit, {"name": "dup"})
    assert storage_error(response) == (400, "409", "BucketAlreadyExists")
    assert response.json()["error"] == "Duplicate"
    assert response.json()["message"] == "The resource already exists"


async def test_bad_policy_names_it(kit: Kit) -> None:
    response = await create(kit, {"name": "p", "policies": {"select": "owner = = 1"}})
    assert storage_error(response) == (400, "400", "InvalidRequest")
    assert response.json()["message"].startswith("policies.select: ")
    unknown = await create(kit, {"name": "p", "policies": {"delete": "colour = 'red'"}})
    assert storage_error(unknown)[2] == "InvalidRequest"
    assert unknown.json()["message"].startswith("policies.delete: ")
    assert "colour" in unknown.json()["message"]
    wrong_op = await create(kit, {"name": "p", "policies": {"read": ""}})
    assert storage_error(wrong_op)[2] == "InvalidRequest"
    assert (await kit.client.get("/storage/v1/bucket/p", headers=await kit.service())).json()[
        "code"
    ] == "NoSuchBucket"


async def test_grants_unknown_role_creates_nothing(kit: Kit) -> None:
    response = await create(kit, {"name": "g", "grants": {"nobody": ["read"]}})
    assert storage_error(response) == (400, "400", "InvalidRequest")
    assert "nobody" in response.json()["message"]
    missing = await kit.client.get("/storage/v1/bucket/g", headers=await kit.service())
    assert storage_error(missing) == (400, "404", "NoSuchBucket")
    bad = await create(kit, {"name": "g", "grants": {"anon": ["fly"]}})
    assert storage_error(bad)[2] == "InvalidRequest"


async def test_non_service_create_is_refused(kit: Kit) -> None:
    _, user = await kit.user("u@example.com")
    for headers in (user, await kit.anon()):
        response = await kit.client.post("/storage/v1/bucket", headers=headers, json={"name": "x"})
        assert storage_error(response) == (403, "403", "AccessDenied")
        assert response.json()["message"] == "Access denied: Invalid role"


async def test_list_sort_search_page(kit: Kit, clock: ManualClock) -> None:
    for name in ("beta", "Alpha", "gamma", "alphabet"):
        await kit.bucket(name)
        clock.advance(1)
    service = await kit.service()

    async def names(query: str) -> list[str]:
        response = await kit.client.get(f"/storage/v1/bucket{query}", headers=service)
        assert response.status_code == 200, response.text
        return [b["name"] for b in response.json()]

    assert await names("") == ["Alpha", "alphabet", "beta", "gamma"]
    assert await names("?sortColumn=name&sortOrder=desc") == ["gamma", "beta", "alphabet", "Alpha"]
    assert await names("?search=ALPHA") == ["Alpha", "alphabet"]
    assert await names("?limit=2&offset=1") == ["alphabet", "beta"]
    assert await names("?sortColumn=created_at&sortOrder=asc&limit=1") == ["beta"]
    assert await names("?sortColumn=updated_at&sortOrder=desc") == [
        "alphabet",
        "gamma",
        "Alpha",
        "beta",
    ]
    for bad in ("?sortColumn=owner", "?sortOrder=up", "?limit=0", "?offset=-1", "?limit=x"):
        response = await kit.client.get(f"/storage/v1/bucket{bad}", headers=service)
        assert storage_error(response) == (400, "400", "InvalidRequest"), bad
    full = (await kit.client.get("/storage/v1/bucket", headers=service)).json()
    assert all(set(b) == BUCKET_KEYS for b in full)


async def test_list_for_non_service(kit: Kit) -> None:
    await kit.bucket("open", public=True)
    await kit.bucket("closed")
    await kit.bucket("granted", grants={"authenticated": ["read"]}, policies={"select": ""})
    await kit.bucket("granted-null", grants={"authenticated": ["read"]})
    _, user = await kit.user("u@example.com")
    anon = await kit.client.get("/storage/v1/bucket", headers=await kit.anon())
    assert [b["name"] for b in anon.json()] == ["open"]
    mine = await kit.client.get("/storage/v1/bucket", headers=user)
    assert [b["name"] for b in mine.json()] == ["granted", "open"]
    paged = await kit.client.get("/storage/v1/bucket?limit=1&offset=1", headers=user)
    assert [b["name"] for b in paged.json()] == ["open"]
    hidden = await kit.client.get("/storage/v1/bucket/closed", headers=user)
    assert storage_error(hidden) == (400, "404", "NoSuchBucket")
    assert (await kit.client.get("/storage/v1/bucket/granted", headers=user)).status_code == 200


async def test_get_missing_and_no_auth(kit: Kit) -> None:
    response = await kit.client.get("/storage/v1/bucket/none", headers=await kit.service())
    assert storage_error(response) == (400, "404", "NoSuchBucket")
    assert response.json()["error"] == "Bucket not found"
    bare = await kit.client.get("/storage/v1/bucket")
    assert storage_error(bare) == (400, "400", "InvalidRequest")


async def test_update(kit: Kit) -> None:
    await kit.bucket("u", public=True, file_size_limit=100, allowed_mime_types=["image/png"])
    service = await kit.service()
    before = await get(kit, "u")
    response = await kit.client.put(
        "/storage/v1/bucket/u", headers=service, json={"id": "u", "name": "u", "public": False}
    )
    assert response.status_code == 200 and response.json() == {"message": "Successfully updated"}
    after = await get(kit, "u")
    assert after["public"] is False
    assert after["file_size_limit"] == 100 and after["allowed_mime_types"] == ["image/png"]
    assert after["created_at"] == before["created_at"]
    cleared = await kit.client.put(
        "/storage/v1/bucket/u",
        headers=service,
        json={"file_size_limit": None, "allowed_mime_types": None},
    )
    assert cleared.status_code == 200
    now = await get(kit, "u")
    assert now["file_size_limit"] is None and now["allowed_mime_types"] is None
    nothing = await kit.client.put("/storage/v1/bucket/u", headers=service, json={"id": "u"})
    assert storage_error(nothing) == (400, "400", "InvalidRequest")
    missing = await kit.client.put("/storage/v1/bucket/no", headers=service, json={"public": True})
    assert storage_error(missing) == (400, "404", "NoSuchBucket")
    _, user = await kit.user("u@example.com")
    denied = await kit.client.put("/storage/v1/bucket/u", headers=user, json={"public": True})
    assert storage_error(denied) == (403, "403", "AccessDenied")


async def test_empty(kit: Kit) -> None:
    await kit.bucket("e")
    for key in ("a.txt", "f/b.txt"):
        assert (await kit.put("e", key, b"x")).status_code == 200
    _, user = await kit.user("u@example.com")
    for headers in (user, await kit.anon()):
        denied = await kit.client.post("/storage/v1/bucket/e/empty", headers=headers, json={})
        assert storage_error(denied) == (403, "403", "AccessDenied")
        assert denied.json()["message"] == "Access denied: Invalid role"
    service = await kit.service()
    response = await kit.client.post("/storage/v1/bucket/e/empty", headers=service)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"message"}
    listed = await kit.client.post(
        "/storage/v1/object/list/e", headers=service, json={"prefix": ""}
    )
    assert listed.json() == []
    missing = await kit.client.post("/storage/v1/bucket/none/empty", headers=service, json={})
    assert storage_error(missing) == (400, "404", "NoSuchBucket")


async def test_delete(kit: Kit) -> None:
    await kit.bucket("d")
    assert (await kit.put("d", "a.txt", b"x")).status_code == 200
    service = await kit.service()
    busy = await kit.client.request("DELETE", "/storage/v1/bucket/d", headers=service, json={})
    assert storage_error(busy) == (400, "409", "ResourceNotEmpty")
    assert busy.json()["message"] == "The bucket you tried to delete is not empty"
    await kit.client.request(
        "DELETE", "/storage/v1/object/d", headers=service, json={"prefixes": ["a.txt"]}
    )
    empty_body = await kit.client.delete(
        "/storage/v1/bucket/d", headers={**service, "content-type": "application/json"}
    )
    assert empty_body.status_code == 200, empty_body.text
    assert empty_body.json() == {"message": "Successfully deleted"}
    gone = await kit.client.request("DELETE", "/storage/v1/bucket/d", headers=service, json={})
    assert storage_error(gone) == (400, "404", "NoSuchBucket")


async def test_delete_revokes_grants(kit: Kit) -> None:
    await kit.bucket("r", grants={"authenticated": ["read"]}, policies={"select": ""})
    service = await kit.service()
    assert (
        await kit.client.request("DELETE", "/storage/v1/bucket/r", headers=service, json={})
    ).status_code == 200
    await kit.bucket("r", policies={"select": ""})
    _, user = await kit.user("u@example.com")
    hidden = await kit.client.get("/storage/v1/bucket/r", headers=user)
    assert storage_error(hidden) == (400, "404", "NoSuchBucket")
