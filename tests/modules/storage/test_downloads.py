"""Downloads: headers, Range, conditional requests, disposition, safe types, access."""

from __future__ import annotations

import hashlib
from email.utils import parsedate_to_datetime

import pytest

from apprun.core.clock import ManualClock
from tests.modules.storage.conftest import Kit, storage_error

pytestmark = pytest.mark.anyio
DATA = b"0123456789"


async def seeded(kit: Kit, **bucket: object) -> dict[str, str]:
    await kit.bucket("d", **bucket)
    response = await kit.put("d", "f.txt", DATA, **{"cache-control": "max-age=77"})
    assert response.status_code == 200, response.text
    return await kit.service()


async def test_headers(kit: Kit) -> None:
    service = await seeded(kit)
    got = await kit.client.get("/storage/v1/object/d/f.txt", headers=service)
    assert got.status_code == 200 and got.content == DATA
    h = got.headers
    assert h["etag"] == f'"{hashlib.md5(DATA, usedforsecurity=False).hexdigest()}"'
    assert parsedate_to_datetime(h["last-modified"]).tzinfo is not None
    assert h["cache-control"] == "max-age=77"
    assert h["accept-ranges"] == "bytes" and h["x-content-type-options"] == "nosniff"
    assert h["content-length"] == "10" and h["content-type"].startswith("text/plain")
    assert "content-disposition" not in h
    for route in ("authenticated/d/f.txt", "d/f.txt"):
        head = await kit.client.head(f"/storage/v1/object/{route}", headers=service)
        assert head.status_code == 200 and head.headers["etag"] == h["etag"]


@pytest.mark.parametrize(
    ("header", "body", "content_range"),
    [
        ("bytes=2-4", b"234", "bytes 2-4/10"),
        ("bytes=7-", b"789", "bytes 7-9/10"),
        ("bytes=-3", b"789", "bytes 7-9/10"),
        ("bytes=5-999", b"56789", "bytes 5-9/10"),
        ("bytes=-50", DATA, "bytes 0-9/10"),
        ("bytes=9-9", b"9", "bytes 9-9/10"),
    ],
)
async def test_range(kit: Kit, header: str, body: bytes, content_range: str) -> None:
    service = await seeded(kit)
    got = await kit.client.get("/storage/v1/object/d/f.txt", headers={**service, "range": header})
    assert got.status_code == 206, got.text
    assert got.content == body and got.headers["content-range"] == content_range
    assert got.headers["content-length"] == str(len(body))


@pytest.mark.parametrize(
    "header",
    [
        "bytes=10-",
        "bytes=20-30",
        "bytes=-0",
        "bytes=0-1,3-4",
        "lines=1-2",
        "bytes=-",
        "bytes=5-2",
        "garbage",
    ],
)
async def test_range_unsatisfiable(kit: Kit, header: str) -> None:
    service = await seeded(kit)
    got = await kit.client.get("/storage/v1/object/d/f.txt", headers={**service, "range": header})
    assert storage_error(got) == (416, "416", "InvalidRange"), header
    assert got.json()["error"] == "invalid_range"
    assert got.headers["content-range"] == "bytes */10"


async def test_range_on_empty_object(kit: Kit) -> None:
    await kit.bucket("d")
    service = await kit.service()
    await kit.client.post(
        "/storage/v1/object/d/folder/.emptyFolderPlaceholder",
        headers=service,
        files={"": ("x", b"", "text/plain")},
    )
    listed = await kit.client.post(
        "/storage/v1/object/list/d", headers=service, json={"prefix": "folder"}
    )
    assert [e["name"] for e in listed.json()] == [".emptyFolderPlaceholder"], listed.text
    got = await kit.client.get(
        "/storage/v1/object/d/folder/.emptyFolderPlaceholder",
        headers={**service, "range": "bytes=0-"},
    )
    assert storage_error(got) == (416, "416", "InvalidRange")


async def test_conditional(kit: Kit, clock: ManualClock) -> None:
    service = await seeded(kit)
    first = await kit.client.get("/storage/v1/object/d/f.txt", headers=service)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    same = await kit.client.get(
        "/storage/v1/object/d/f.txt", headers={**service, "if-none-match": etag}
    )
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
    other = await kit.client.get(
        "/storage/v1/object/d/f.txt", headers={**service, "if-none-match": '"other"'}
    )
    assert other.status_code == 200 and other.content == DATA
    since = await kit.client.get(
        "/storage/v1/object/d/f.txt", headers={**service, "if-modified-since": modified}
    )
    assert since.status_code == 304
    older = await kit.client.get(
        "/storage/v1/object/d/f.txt",
        headers={**service, "if-modified-since": "Mon, 01 Jan 2001 00:00:00 GMT"},
    )
    assert older.status_code == 200
    ranged = await kit.client.get(
        "/storage/v1/object/d/f.txt",
        headers={**service, "if-none-match": etag, "range": "bytes=0-1"},
    )
    assert ranged.status_code == 304
    clock.advance(5)
    await kit.put("d", "f.txt", b"changed", **{"x-upsert": "true"})
    stale = await kit.client.get(
        "/storage/v1/object/d/f.txt", headers={**service, "if-modified-since": modified}
    )
    assert stale.status_code == 200 and stale.content == b"changed"


async def test_download_disposition(kit: Kit) -> None:
    service = await seeded(kit)
    plain = await kit.client.get("/storage/v1/object/d/f.txt?download", headers=service)
    assert plain.headers["content-disposition"] == "attachment;"
    empty = await kit.client.get("/storage/v1/object/d/f.txt?download=", headers=service)
    assert empty.headers["content-disposition"] == "attachment;"
    named = await kit.client.get(
        "/storage/v1/object/d/f.txt", params={"download": "résumé 1.txt"}, headers=service
    )
    disposition = named.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%201.txt" in disposition
    assert disposition.split(";")[1].strip().isascii()
    plus = await kit.client.get("/storage/v1/object/d/f.txt?download=my+file.pdf", headers=service)
    assert "filename*=UTF-8''my%20file.pdf" in plus.headers["content-disposition"]


async def test_html_and_svg(kit: Kit) -> None:
    await kit.bucket("d")
    await kit.bucket("html", allow_inline_html=True)
    service = await kit.service()
    page = b"<html><script>alert(1)</script></html>"
    await kit.put("d", "p.html", page, content_type="text/html")
    await kit.put("html", "p.html", page, content_type="text/html")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    await kit.put("d", "i.svg", svg, content_type="image/svg+xml")
    served = await kit.client.get("/storage/v1/object/d/p.html", headers=service)
    assert served.headers["content-type"].startswith("text/plain") and served.content == page
    info = await kit.client.get("/storage/v1/object/info/d/p.html", headers=service)
    assert info.json()["content_type"] == "text/html"
    inline = await kit.client.get("/storage/v1/object/html/p.html", headers=service)
    assert inline.headers["content-type"].startswith("text/html")
    assert "sandbox" in inline.headers["content-security-policy"]
    image = await kit.client.get("/storage/v1/object/d/i.svg", headers=service)
    assert image.headers["content-type"].startswith("image/svg+xml")
    csp = image.headers["content-security-policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp


async def test_public_and_private_access(kit: Kit) -> None:
    await kit.bucket("pub", public=True)
    await kit.bucket("priv")
    await kit.put("pub", "a.txt", b"public")
    await kit.put("priv", "a.txt", b"private")
    anon = await kit.anon()
    for route in ("public/pub/a.txt", "pub/a.txt", "authenticated/pub/a.txt"):
        got = await kit.client.get(f"/storage/v1/object/{route}", headers=anon)
        assert got.status_code == 200 and got.content == b"public", route
    bare = await kit.client.get("/storage/v1/object/public/pub/a.txt")
    assert bare.content == b"public"
    wrong = await kit.client.get("/storage/v1/object/public/priv/a.txt", headers=anon)
    assert storage_error(wrong) == (400, "404", "NoSuchBucket")
    service_wrong = await kit.client.get(
        "/storage/v1/object/public/priv/a.txt", headers=await kit.service()
    )
    assert storage_error(service_wrong)[2] == "NoSuchBucket"
    for route in ("priv/a.txt", "authenticated/priv/a.txt", "info/priv/a.txt"):
        hidden = await kit.client.get(f"/storage/v1/object/{route}", headers=anon)
        assert storage_error(hidden) == (400, "404", "NoSuchKey"), route
    info = await kit.client.get("/storage/v1/object/info/public/pub/a.txt")
    assert info.json()["size"] == 6
    no_auth = await kit.client.get("/storage/v1/object/authenticated/pub/a.txt")
    assert storage_error(no_auth) == (400, "400", "InvalidRequest")


async def test_missing_bytes(kit: Kit) -> None:
    service = await seeded(kit)
    store = kit.env.services.storage.blobs.project(kit.project)
    await store.delete(await kit.blob_keys())
    got = await kit.client.get("/storage/v1/object/d/f.txt", headers=service)
    assert storage_error(got) == (400, "404", "NoSuchKey")
    assert got.json()["error"] == "Not found"
    assert got.json()["message"] == "The resource was not found"
    assert got.headers["cache-control"] == "no-store"


async def test_a_refused_token_reads_public_files_as_anonymous(kit: Kit) -> None:
    await kit.bucket("pub", public=True)
    assert (await kit.put("pub", "f.txt", b"hello")).status_code == 200
    _, user = await kit.user("stale@example.com")
    signed_out = await kit.client.post("/auth/v1/logout", headers=user)
    assert signed_out.status_code == 204, signed_out.text
    got = await kit.client.get("/storage/v1/object/pub/f.txt", headers=user)
    assert got.status_code == 200
    assert got.content == b"hello"
    refused = await kit.client.get("/storage/v1/object/authenticated/pub/f.txt", headers=user)
    assert storage_error(refused) == (400, "403", "AccessDenied")
