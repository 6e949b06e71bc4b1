"""Signed download and upload URLs: shapes, expiry, tampering, scope, owner."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from apprun.core.clock import ManualClock
from tests.modules.storage.conftest import Kit, storage_error

pytestmark = pytest.mark.anyio


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


async def signed(kit: Kit, key: str = "a b.txt", expires: object = 60) -> str:
    response = await kit.client.post(
        f"/storage/v1/object/sign/s/{key}", headers=await kit.service(), json={"expiresIn": expires}
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"signedURL"}
    return str(response.json()["signedURL"])


async def seeded(kit: Kit) -> None:
    await kit.bucket("s")
    for key in ("a b.txt", "other.txt"):
        assert (await kit.put("s", key, key.encode())).status_code == 200


async def test_sign_and_use(kit: Kit) -> None:
    await seeded(kit)
    url = await signed(kit, expires="60")
    assert url.startswith("/object/sign/s/a b.txt?token=")
    got = await kit.client.get("/storage/v1" + url)
    assert got.status_code == 200 and got.content == b"a b.txt"
    assert "expires" in got.headers and "cache-control" not in got.headers
    download = await kit.client.get("/storage/v1" + url + "&download=x.txt")
    assert download.headers["content-disposition"].startswith("attachment; filename=")


@pytest.mark.parametrize("expires", [0, -5, "soon", True, None])
async def test_sign_bad_expiry(kit: Kit, expires: object) -> None:
    await seeded(kit)
    body = {} if expires is None else {"expiresIn": expires}
    response = await kit.client.post(
        "/storage/v1/object/sign/s/other.txt", headers=await kit.service(), json=body
    )
    code = "InvalidRequest" if expires is None else "InvalidParameter"
    assert storage_error(response) == (400, "400", code)


async def test_sign_missing(kit: Kit) -> None:
    await seeded(kit)
    response = await kit.client.post(
        "/storage/v1/object/sign/s/nope.txt", headers=await kit.service(), json={"expiresIn": 9}
    )
    assert storage_error(response) == (400, "404", "NoSuchKey")


async def test_sign_many(kit: Kit) -> None:
    await seeded(kit)
    response = await kit.client.post(
        "/storage/v1/object/sign/s",
        headers=await kit.service(),
        json={"expiresIn": "120", "paths": ["other.txt", "missing.txt", "../x"]},
    )
    assert response.status_code == 200, response.text
    first, missing, bad = response.json()
    assert set(first) == {"error", "path", "signedURL"} and first["error"] is None
    assert first["path"] == "other.txt"
    assert first["signedURL"].startswith("/object/sign/s/other.txt?token=")
    assert missing == {
        "error": "Either the object does not exist or you do not have access to it",
        "path": "missing.txt",
        "signedURL": None,
    }
    assert bad["signedURL"] is None and bad["error"]
    got = await kit.client.get("/storage/v1" + first["signedURL"])
    assert got.content == b"other.txt"
    empty = await kit.client.post(
        "/storage/v1/object/sign/s", headers=await kit.service(), json={"expiresIn": 1, "paths": []}
    )
    assert storage_error(empty)[2] == "InvalidRequest"


async def test_expired(kit: Kit, clock: ManualClock) -> None:
    await seeded(kit)
    url = await signed(kit, expires=10)
    clock.advance(11)
    got = await kit.client.get("/storage/v1" + url)
    assert storage_error(got) == (400, "400", "InvalidJWT")
    assert got.json()["message"] == '"exp" claim timestamp check failed'


async def test_tampered_and_wrong_key(kit: Kit) -> None:
    await seeded(kit)
    url = await signed(kit)
    token = token_of(url)
    head, payload, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    bad_sig = await kit.client.get(
        f"/storage/v1/object/sign/s/a b.txt?token={head}.{payload}.{flipped}"
    )
    assert storage_error(bad_sig)[2] in ("InvalidJWT", "InvalidSignature")
    assert storage_error(bad_sig)[:2] == (400, "400")
    garbage = await kit.client.get("/storage/v1/object/sign/s/a b.txt?token=garbage")
    assert storage_error(garbage) == (400, "400", "InvalidJWT")
    other = await kit.client.get(f"/storage/v1/object/sign/s/other.txt?token={token}")
    assert storage_error(other) == (400, "400", "InvalidSignature")
    assert other.json()["message"] == "Invalid signature"
    none = await kit.client.get("/storage/v1/object/sign/s/other.txt")
    assert storage_error(none) == (400, "400", "InvalidRequest")


async def test_other_project_token(kit: Kit) -> None:
    from tests.modules.storage.conftest import other_project

    await seeded(kit)
    token = token_of(await signed(kit))
    other = await other_project(kit)
    await other.bucket("s")
    assert (await other.put("s", "a b.txt", b"theirs")).status_code == 200
    got = await kit.client.get(
        f"/storage/v1/object/sign/s/a b.txt?token={token}", headers=await other.anon()
    )
    assert storage_error(got)[2] in ("InvalidJWT", "InvalidSignature")


async def test_signed_upload(kit: Kit) -> None:
    await kit.bucket("s", grants={"authenticated": ["write"]}, policies={"insert": ""})
    user_id, user = await kit.user("u@example.com")
    created = await kit.client.post(
        "/storage/v1/object/upload/sign/s/up/file.txt", headers=user, json={}
    )
    assert created.status_code == 200, created.text
    body = created.json()
    assert set(body) == {"url", "token"}
    assert body["url"] == f"/object/upload/sign/s/up/file.txt?token={body['token']}"
    as_download = await kit.client.get(
        f"/storage/v1/object/sign/s/up/file.txt?token={body['token']}"
    )
    assert storage_error(as_download) == (400, "400", "InvalidSignature")
    put = await kit.client.put(
        "/storage/v1" + body["url"],
        headers={"content-type": "text/plain", "x-upsert": "true"},
        content=b"signed!",
    )
    assert put.status_code == 200, put.text
    assert put.json() == {"Key": "s/up/file.txt"}
    info = await kit.client.get(
        "/storage/v1/object/info/s/up/file.txt", headers=await kit.service()
    )
    assert info.json()["size"] == 7
    listed = await kit.client.post(
        "/storage/v1/object/list-v2/s", headers=await kit.service(), json={"prefix": "up/"}
    )
    deleted = await kit.client.request(
        "DELETE",
        "/storage/v1/object/s",
        headers=await kit.service(),
        json={"prefixes": ["up/file.txt"]},
    )
    assert deleted.json()[0]["owner"] == user_id
    assert listed.json()["objects"][0]["name"] == "up/file.txt"
    again = await kit.client.put(
        "/storage/v1" + body["url"], headers={"content-type": "text/plain"}, content=b"x"
    )
    assert again.status_code == 200
    dup = await kit.client.put(
        "/storage/v1" + body["url"],
        headers={"content-type": "text/plain", "x-upsert": "true"},
        content=b"x",
    )
    assert storage_error(dup) == (400, "409", "KeyAlreadyExists")


async def test_signed_upload_scope_and_expiry(kit: Kit, clock: ManualClock) -> None:
    await seeded(kit)
    service = await kit.service()
    taken = await kit.client.post("/storage/v1/object/upload/sign/s/other.txt", headers=service)
    assert storage_error(taken) == (400, "409", "KeyAlreadyExists")
    upsert = await kit.client.post(
        "/storage/v1/object/upload/sign/s/other.txt", headers={**service, "x-upsert": "true"}
    )
    assert upsert.status_code == 200
    token = upsert.json()["token"]
    elsewhere = await kit.client.put(
        f"/storage/v1/object/upload/sign/s/else.txt?token={token}", content=b"x"
    )
    assert storage_error(elsewhere) == (400, "400", "InvalidSignature")
    download_token = token_of(await signed(kit, "other.txt"))
    wrong_scope = await kit.client.put(
        f"/storage/v1/object/upload/sign/s/other.txt?token={download_token}", content=b"x"
    )
    assert storage_error(wrong_scope) == (400, "400", "InvalidSignature")
    as_download = await kit.client.get(f"/storage/v1/object/sign/s/other.txt?token={token}")
    assert storage_error(as_download) == (400, "400", "InvalidSignature")
    replaced = await kit.client.put(
        f"/storage/v1/object/upload/sign/s/other.txt?token={token}", content=b"new bytes"
    )
    assert replaced.status_code == 200, replaced.text
    clock.advance(7201)
    late = await kit.client.put(
        f"/storage/v1/object/upload/sign/s/other.txt?token={token}", content=b"late"
    )
    assert storage_error(late) == (400, "400", "InvalidJWT")


async def test_sign_expiry_too_long(kit: Kit) -> None:
    await seeded(kit)
    response = await kit.client.post(
        "/storage/v1/object/sign/s/other.txt",
        headers=await kit.service(),
        json={"expiresIn": 10**12},
    )
    assert storage_error(response) == (400, "400", "InvalidParameter")
    assert response.json()["message"] == "Invalid Parameter expiresIn"
