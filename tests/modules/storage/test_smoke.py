"""The storage basics end to end in-process: bucket, upload, download, list, delete."""

from __future__ import annotations

import pytest

from tests.modules.storage.conftest import Kit, storage_error

pytestmark = pytest.mark.anyio


async def test_upload_download_list_delete(kit: Kit) -> None:
    await kit.bucket("docs")
    response = await kit.put("docs", "a/hello.txt", b"hello world")
    assert response.status_code == 200, response.text
    assert response.json()["Key"] == "docs/a/hello.txt"
    service = await kit.service()
    got = await kit.client.get("/storage/v1/object/docs/a/hello.txt", headers=service)
    assert got.status_code == 200
    assert got.content == b"hello world"
    assert got.headers["content-type"].startswith("text/plain")
    listed = await kit.client.post(
        "/storage/v1/object/list/docs", headers=service, json={"prefix": ""}
    )
    assert [e["name"] for e in listed.json()] == ["a"]
    again = await kit.put("docs", "a/hello.txt", b"x")
    assert storage_error(again) == (400, "409", "KeyAlreadyExists")
    deleted = await kit.client.request(
        "DELETE", "/storage/v1/object/docs", headers=service, json={"prefixes": ["a/hello.txt"]}
    )
    assert [row["name"] for row in deleted.json()] == ["a/hello.txt"]
    missing = await kit.client.get("/storage/v1/object/docs/a/hello.txt", headers=service)
    assert storage_error(missing) == (400, "404", "NoSuchKey")
