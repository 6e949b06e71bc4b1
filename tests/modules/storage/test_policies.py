"""Grants and per-bucket policies for anon, the owner, another user, another project's
token and the service role, on select, insert, update and delete."""

from __future__ import annotations

import base64

import pytest

from tests.modules.storage.conftest import Kit, other_project, storage_error

pytestmark = pytest.mark.anyio
OWNED = {
    "grants": {"authenticated": ["read", "write", "delete"]},
    "policies": {
        "select": "owner = @auth.id",
        "insert": "owner = @auth.id",
        "update": "owner = @auth.id",
        "delete": "owner = @auth.id",
    },
}


async def setup(kit: Kit) -> tuple[str, dict[str, str], dict[str, str]]:
    await kit.bucket("p", **OWNED)
    a_id, a = await kit.user("a@example.com")
    _, b = await kit.user("b@example.com")
    response = await kit.put("p", f"{a_id}/a.txt", b"mine", headers=a)
    assert response.status_code == 200, response.text
    return a_id, a, b


async def test_select(kit: Kit) -> None:
    a_id, a, b = await setup(kit)
    key = f"{a_id}/a.txt"
    own = await kit.client.get(f"/storage/v1/object/p/{key}", headers=a)
    assert own.status_code == 200 and own.content == b"mine"
    for headers in (b, await kit.anon()):
        for route in (f"p/{key}", f"authenticated/p/{key}", f"info/p/{key}"):
            hidden = await kit.client.get(f"/storage/v1/object/{route}", headers=headers)
            assert storage_error(hidden) == (400, "404", "NoSuchKey"), route
    listed_b = await kit.client.post("/storage/v1/object/list-v2/p", headers=b, json={"prefix": ""})
    assert listed_b.json()["objects"] == []
    listed_a = await kit.client.post("/storage/v1/object/list/p", headers=a, json={"prefix": a_id})
    assert [e["name"] for e in listed_a.json()] == ["a.txt"]
    sign_b = await kit.client.post(
        f"/storage/v1/object/sign/p/{key}", headers=b, json={"expiresIn": 60}
    )
    assert storage_error(sign_b) == (400, "404", "NoSuchKey")
    many = await kit.client.post(
        "/storage/v1/object/sign/p", headers=b, json={"expiresIn": 60, "paths": [key]}
    )
    assert many.json()[0]["signedURL"] is None
    service = await kit.client.get(f"/storage/v1/object/p/{key}", headers=await kit.service())
    assert service.status_code == 200
    bucket_b = await kit.client.get("/storage/v1/bucket/p", headers=b)
    assert bucket_b.status_code == 200


async def test_insert(kit: Kit) -> None:
    a_id, _, b = await setup(kit)
    b_own = await kit.put("p", "b-file.txt", b"b", headers=b)
    assert b_own.status_code == 200, b_own.text
    anon = await kit.put("p", "anon.txt", b"x", headers=await kit.anon())
    assert storage_error(anon) == (400, "403", "AccessDenied")
    assert anon.json()["message"] == "new row violates row-level security policy"
    assert anon.json()["error"] == "Unauthorized"
    listed = await kit.client.post(
        "/storage/v1/object/list-v2/p", headers=await kit.service(), json={}
    )
    assert sorted(o["name"] for o in listed.json()["objects"]) == [f"{a_id}/a.txt", "b-file.txt"]


async def test_update(kit: Kit) -> None:
    a_id, a, b = await setup(kit)
    key = f"{a_id}/a.txt"
    overwrite_b = await kit.put("p", key, b"stolen", headers=b, **{"x-upsert": "true"})
    assert storage_error(overwrite_b) == (400, "403", "AccessDenied")
    put_b = await kit.client.put(
        f"/storage/v1/object/p/{key}", headers={**b, "content-type": "text/plain"}, content=b"s"
    )
    assert storage_error(put_b) == (400, "403", "AccessDenied")
    overwrite_a = await kit.put("p", key, b"updated", headers=a, **{"x-upsert": "true"})
    assert overwrite_a.status_code == 200, overwrite_a.text
    move_b = await kit.client.post(
        "/storage/v1/object/move",
        headers=b,
        json={"bucketId": "p", "sourceKey": key, "destinationKey": "b/x.txt"},
    )
    assert storage_error(move_b) == (400, "404", "NoSuchKey")
    move_a = await kit.client.post(
        "/storage/v1/object/move",
        headers=a,
        json={"bucketId": "p", "sourceKey": key, "destinationKey": f"{a_id}/moved.txt"},
    )
    assert move_a.status_code == 200, move_a.text
    got = await kit.client.get(f"/storage/v1/object/p/{a_id}/moved.txt", headers=a)
    assert got.content == b"updated"
    copy_b = await kit.client.post(
        "/storage/v1/object/copy",
        headers=b,
        json={"bucketId": "p", "sourceKey": f"{a_id}/moved.txt", "destinationKey": "mine.txt"},
    )
    assert storage_error(copy_b) == (400, "404", "NoSuchKey")
    sign_upload_b = await kit.client.post(
        f"/storage/v1/object/upload/sign/p/{a_id}/moved.txt", headers={**b, "x-upsert": "true"}
    )
    assert storage_error(sign_upload_b) == (400, "403", "AccessDenied")


async def test_delete(kit: Kit) -> None:
    a_id, a, b = await setup(kit)
    key = f"{a_id}/a.txt"
    by_b = await kit.client.request(
        "DELETE", "/storage/v1/object/p", headers=b, json={"prefixes": [key]}
    )
    assert by_b.status_code == 200 and by_b.json() == []
    single_b = await kit.client.delete(f"/storage/v1/object/p/{key}", headers=b)
    assert storage_error(single_b) == (400, "404", "NoSuchKey")
    by_anon = await kit.client.request(
        "DELETE", "/storage/v1/object/p", headers=await kit.anon(), json={"prefixes": [key]}
    )
    assert by_anon.json() == []
    by_a = await kit.client.request(
        "DELETE", "/storage/v1/object/p", headers=a, json={"prefixes": [key]}
    )
    assert [r["name"] for r in by_a.json()] == [key]
    assert by_a.json()[0]["owner"] == a_id


async def test_other_projects_token(kit: Kit) -> None:
    a_id, _, _ = await setup(kit)
    other = await other_project(kit)
    _, stranger = await other.user("a@example.com")
    mixed = {"apikey": (await kit.anon())["apikey"], "Authorization": stranger["Authorization"]}
    key = f"{a_id}/a.txt"
    read = await kit.client.get(f"/storage/v1/object/authenticated/p/{key}", headers=mixed)
    assert storage_error(read) == (400, "403", "AccessDenied")
    write = await kit.put("p", "x.txt", b"x", headers=mixed)
    assert storage_error(write) == (400, "403", "AccessDenied")
    own_project = await kit.client.get(
        f"/storage/v1/object/authenticated/p/{key}", headers=stranger
    )
    assert storage_error(own_project) == (400, "404", "NoSuchBucket")


async def test_grant_without_policy_and_policy_without_grant(kit: Kit) -> None:
    await kit.bucket("g1", grants={"authenticated": ["read", "write"]})
    await kit.bucket("g2", policies={"select": "", "insert": ""})
    await kit.bucket(
        "g3", grants={"authenticated": ["read", "write"]}, policies={"select": "", "insert": ""}
    )
    _, user = await kit.user("u@example.com")
    for bucket, ok in (("g1", False), ("g2", False), ("g3", True)):
        service_put = await kit.put(bucket, "s.txt", b"s")
        assert service_put.status_code == 200
        write = await kit.put(bucket, "u.txt", b"u", headers=user)
        read = await kit.client.get(f"/storage/v1/object/{bucket}/s.txt", headers=user)
        if ok:
            assert write.status_code == 200 and read.content == b"s"
        else:
            assert storage_error(write) == (400, "403", "AccessDenied"), bucket
            assert storage_error(read) == (400, "404", "NoSuchKey"), bucket


async def test_metadata_and_size_policies(kit: Kit) -> None:
    await kit.bucket(
        "m",
        grants={"authenticated": ["read", "write"]},
        policies={
            "select": "metadata.visibility = 'shared' || owner = @auth.id",
            "insert": "size <= 5 && mime_type = 'text/plain'",
        },
    )
    _, a = await kit.user("a@example.com")
    _, b = await kit.user("b@example.com")
    shared = base64.b64encode(b'{"visibility": "shared"}').decode()
    assert (
        await kit.put("m", "s.txt", b"12345", headers=a, **{"x-metadata": shared})
    ).status_code == 200
    assert (await kit.put("m", "p.txt", b"12345", headers=a)).status_code == 200
    big = await kit.put("m", "big.txt", b"123456", headers=a)
    assert storage_error(big) == (400, "403", "AccessDenied")
    csv = await kit.put("m", "c.csv", b"1,2", headers=a, content_type="text/csv")
    assert storage_error(csv) == (400, "403", "AccessDenied")
    assert (await kit.client.get("/storage/v1/object/m/s.txt", headers=b)).content == b"12345"
    hidden = await kit.client.get("/storage/v1/object/m/p.txt", headers=b)
    assert storage_error(hidden) == (400, "404", "NoSuchKey")
    listed = await kit.client.post("/storage/v1/object/list/m", headers=b, json={"prefix": ""})
    assert [e["name"] for e in listed.json()] == ["s.txt"]


async def test_path_segments_policy(kit: Kit) -> None:
    await kit.bucket(
        "f",
        grants={"authenticated": ["read", "write"]},
        policies={
            "select": "@path.segments[0] = @auth.id",
            "insert": "@path.segments[0] = @auth.id",
        },
    )
    a_id, a = await kit.user("a@example.com")
    mine = await kit.put("f", f"{a_id}/x.txt", b"x", headers=a)
    assert mine.status_code == 200, mine.text
    theirs = await kit.put("f", "someone-else/x.txt", b"x", headers=a)
    assert storage_error(theirs) == (400, "403", "AccessDenied")
    read = await kit.client.get(f"/storage/v1/object/f/{a_id}/x.txt", headers=a)
    assert read.content == b"x"
