"""List v1 (one level, names relative to the prefix) and list v2 (full keys, a cursor)."""

from __future__ import annotations

from typing import Any

import pytest

from apprun.core.clock import ManualClock
from tests.modules.storage.conftest import Kit, storage_error

pytestmark = pytest.mark.anyio
KEYS = ["b.txt", "A.txt", "docs/x.txt", "docs/sub/y.txt", "docs/z.txt", "img/p.png", "c_d.txt"]
FILE_KEYS = {"name", "id", "updated_at", "created_at", "last_accessed_at", "metadata"}


async def seeded(kit: Kit, clock: ManualClock) -> dict[str, str]:
    await kit.bucket("l")
    for key in KEYS:
        response = await kit.put("l", key, key.encode())
        assert response.status_code == 200, response.text
        clock.advance(1)
    return await kit.service()


async def v1(kit: Kit, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = await kit.client.post(
        "/storage/v1/object/list/l", headers=await kit.service(), json=body
    )
    assert response.status_code == 200, response.text
    return list(response.json())


async def v2(kit: Kit, body: dict[str, Any]) -> dict[str, Any]:
    response = await kit.client.post(
        "/storage/v1/object/list-v2/l", headers=await kit.service(), json=body
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_v1_root(kit: Kit, clock: ManualClock) -> None:
    await seeded(kit, clock)
    entries = await v1(kit, {"prefix": ""})
    assert [e["name"] for e in entries] == ["A.txt", "b.txt", "c_d.txt", "docs", "img"]
    folder = entries[3]
    assert folder == {
        "name": "docs",
        "id": None,
        "updated_at": None,
        "created_at": None,
        "last_accessed_at": None,
        "metadata": None,
    }
    file = entries[0]
    assert set(file) == FILE_KEYS and file["id"]
    assert file["metadata"]["size"] == 5 and file["metadata"]["mimetype"] == "text/plain"
    assert file["metadata"]["eTag"].startswith('"') and file["metadata"]["httpStatusCode"] == 200


async def test_v1_prefix(kit: Kit, clock: ManualClock) -> None:
    await seeded(kit, clock)
    with_slash = await v1(kit, {"prefix": "docs/"})
    without = await v1(kit, {"prefix": "docs"})
    assert [e["name"] for e in with_slash] == ["sub", "x.txt", "z.txt"]
    assert [e["name"] for e in without] == ["sub", "x.txt", "z.txt"]
    assert with_slash[0]["id"] is None and with_slash[1]["id"] is not None
    assert await v1(kit, {"prefix": "do"}) == []
    assert await v1(kit, {"prefix": "nothing/"}) == []


async def test_v1_search(kit: Kit, clock: ManualClock) -> None:
    await seeded(kit, clock)
    assert [e["name"] for e in await v1(kit, {"prefix": "", "search": "a"})] == ["A.txt"]
    assert [e["name"] for e in await v1(kit, {"prefix": "", "search": "D"})] == ["docs"]
    assert [e["name"] for e in await v1(kit, {"prefix": "", "search": "c_"})] == ["c_d.txt"]
    assert await v1(kit, {"prefix": "", "search": "%"}) == []
    deep = await v1(kit, {"prefix": "docs", "search": "sub/y"})
    assert [e["name"] for e in deep] == ["sub/y.txt"] and deep[0]["id"] is not None
    level = await v1(kit, {"prefix": "", "search": "docs/"})
    assert [e["name"] for e in level] == ["docs/sub", "docs/x.txt", "docs/z.txt"]


async def test_v1_sort_and_page(kit: Kit, clock: ManualClock) -> None:
    await seeded(kit, clock)
    desc = await v1(kit, {"prefix": "", "sortBy": {"column": "name", "order": "desc"}})
    assert [e["name"] for e in desc] == ["img", "docs", "c_d.txt", "b.txt", "A.txt"]
    by_date = await v1(kit, {"prefix": "", "sortBy": {"column": "created_at", "order": "desc"}})
    assert [e["name"] for e in by_date] == ["docs", "img", "c_d.txt", "A.txt", "b.txt"]
    by_update = await v1(kit, {"prefix": "", "sortBy": {"column": "updated_at"}})
    assert [e["name"] for e in by_update] == ["docs", "img", "b.txt", "A.txt", "c_d.txt"]
    page = await v1(kit, {"prefix": "", "limit": 2, "offset": 2})
    assert [e["name"] for e in page] == ["c_d.txt", "docs"]
    service = await kit.service()
    for bad in (
        {},
        {"prefix": "", "limit": 0},
        {"prefix": "", "offset": -1},
        {"prefix": "", "sortBy": {"column": "size"}},
        {"prefix": "", "search": 3},
    ):
        response = await kit.client.post("/storage/v1/object/list/l", headers=service, json=bad)
        assert storage_error(response) == (400, "400", "InvalidRequest"), bad
    missing = await kit.client.post(
        "/storage/v1/object/list/none", headers=service, json={"prefix": ""}
    )
    assert storage_error(missing) == (400, "404", "NoSuchBucket")


async def test_v2(kit: Kit, clock: ManualClock) -> None:
    await seeded(kit, clock)
    flat = await v2(kit, {})
    assert flat["hasNext"] is False and "nextCursor" not in flat and flat["folders"] == []
    assert [o["name"] for o in flat["objects"]] == sorted(KEYS, key=str.encode)
    assert all(o["id"] and o["created_at"] and o["updated_at"] for o in flat["objects"])
    level = await v2(kit, {"prefix": "docs/", "with_delimiter": True})
    assert [f["name"] for f in level["folders"]] == ["docs/sub/"]
    assert level["folders"][0]["id"] is None
    assert [o["name"] for o in level["objects"]] == ["docs/x.txt", "docs/z.txt"]
    assert level["objects"][0]["key"] == "x.txt"
    root = await v2(kit, {"with_delimiter": True})
    assert [f["name"] for f in root["folders"]] == ["docs/", "img/"]
    plain_prefix = await v2(kit, {"prefix": "do"})
    assert [o["name"] for o in plain_prefix["objects"]] == [
        "docs/sub/y.txt",
        "docs/x.txt",
        "docs/z.txt",
    ]
    assert (await v2(kit, {"prefix": "DOCS"}))["objects"] == []


async def test_v2_cursor(kit: Kit, clock: ManualClock) -> None:
    await seeded(kit, clock)
    names: list[str] = []
    body: dict[str, Any] = {"limit": 3}
    pages = 0
    while True:
        page = await v2(kit, body)
        names += [o["name"] for o in page["objects"]]
        pages += 1
        if not page["hasNext"]:
            assert "nextCursor" not in page
            break
        body = {"limit": 3, "cursor": page["nextCursor"]}
    assert pages == 3 and names == sorted(KEYS, key=str.encode)
    by_date = await v2(kit, {"sortBy": {"column": "created_at", "order": "desc"}, "limit": 2})
    assert [o["name"] for o in by_date["objects"]] == ["c_d.txt", "img/p.png"]
    for cursor in ("not-a-cursor", "eyJ4IjoxfQ==", 12):
        response = await kit.client.post(
            "/storage/v1/object/list-v2/l", headers=await kit.service(), json={"cursor": cursor}
        )
        assert storage_error(response) == (400, "400", "InvalidParameter"), cursor
