"""supabase-py and supabase-js, the real clients, through /storage/v1 of a live server.

A full round trip with each (buckets, uploads of every body kind, downloads, info, listing,
signed URLs fetched with plain HTTP, signed uploads, move, copy, remove, public URLs, the
errors the SDKs surface, empty and delete), and one as signed-in end users on an ``avatars``
bucket whose policies keep each user's files to themselves. ``js/storage.mjs`` runs the
supabase-js side and prints what the client gave back; the assertions are here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from storage3.exceptions import StorageApiError
from supabase import Client, ClientOptions, create_client

from apprun.testing.live import LiveServer
from tests.e2e.conftest import check_js_steps, service_role_key
from tests.e2e.test_supabase_py_admin import anon_key

pytestmark = [
    pytest.mark.live,
    pytest.mark.filterwarnings(
        "ignore:The '(timeout|verify)' parameter is deprecated"
        ":DeprecationWarning:supabase._sync.client"
    ),
]
PASSWORD = "a long and unusual passphrase"
AVATARS: dict[str, Any] = {
    "name": "avatars",
    "grants": {"authenticated": ["read", "write", "delete"]},
    "policies": {
        "select": "owner = @auth.id",
        "insert": "owner = @auth.id",
        "update": "owner = @auth.id",
        "delete": "owner = @auth.id",
    },
}


Connect = Callable[[str], Client]


@pytest.fixture
def connect(live_server: LiveServer) -> Iterator[Connect]:
    """``connect(key)`` → a supabase-py client of ``live_server`` whose HTTP connections are
    closed after the test."""
    sessions: list[httpx.Client] = []

    def make(key: str) -> Client:
        session = httpx.Client(timeout=60)
        sessions.append(session)
        return create_client(live_server.url, key, ClientOptions(httpx_client=session))

    yield make
    for session in sessions:
        session.close()


def api_error(call: Any, *args: Any, **kwargs: Any) -> StorageApiError:
    with pytest.raises(StorageApiError) as raised:
        call(*args, **kwargs)
    return raised.value


def api_failure(status_code: str) -> dict[str, Any]:
    """How supabase-js shows a Storage error: HTTP 400, the semantic status in statusCode."""
    return {"name": "StorageApiError", "status": 400, "statusCode": status_code}


JS_EXPECTED: dict[str, Any] = {
    "create bucket": {"data": {"name": "docs"}, "error": None},
    "duplicate bucket": api_failure("409"),
    "list buckets": {"ids": ["avatars", "docs"], "error": None},
    "get bucket": {
        "public": False,
        "fileSizeLimit": 1024,
        "allowed": ["text/*"],
        "owner": "string",
        "error": None,
    },
    "update bucket": {
        "data": {"message": "Successfully updated"},
        "error": None,
        "fileSizeLimit": 2000,
        "allowed": ["text/*", "image/png"],
    },
    "upload blob": {
        "path": "notes/a.txt",
        "fullPath": "docs/notes/a.txt",
        "id": "string",
        "error": None,
    },
    "upload file": {"path": "notes/b.txt", "error": None},
    "upload buffer": {"path": "notes/deep/c.txt", "error": None},
    "upload string": {"path": "notes/d.txt", "error": None},
    "duplicate upload": api_failure("409"),
    "upsert": {"error": None, "text": "alpha 2"},
    "update": {"path": "notes/b.txt", "error": None, "text": "bravo 2"},
    # A Blob's type is lower-cased by Node; the server sends the stored type verbatim.
    "download": {"text": "charlie", "type": "text/plain", "error": None},
    "info": {
        "name": "notes/deep/c.txt",
        "size": 7,
        "bucketId": "docs",
        "contentType": "text/plain",
        "metadata": {"colour": "red"},
        "error": None,
    },
    "exists": {"yes": True, "no": False},
    "list": {
        "names": ["a.txt", "b.txt", "d.txt", "deep"],
        "folderId": None,
        "size": 7,
        "error": None,
    },
    "list search": ["d.txt", "deep"],
    "list sorted": ["deep", "d.txt", "b.txt", "a.txt"],
    "list page": ["b.txt", "d.txt"],
    "signed url": {"status": 200, "text": "alpha 2", "error": None},
    "signed url download": {
        "status": 200,
        "disposition": "attachment; filename=\"x.txt\"; filename*=UTF-8''x.txt",
    },
    "signed urls": {
        "items": [["notes/a.txt", True, True], ["notes/nothing.txt", False, False]],
        "text": "alpha 2",
        "error": None,
    },
    "signed upload": {
        "path": "signed/e.txt",
        "fullPath": "docs/signed/e.txt",
        "error": None,
        "text": "echo",
    },
    "move": {"data": {"message": "Successfully moved"}, "error": None, "sourceExists": False},
    "copy": {"path": "docs/copied/e.txt", "error": None, "text": "echo"},
    "remove": {"names": ["copied/e.txt", "moved/e.txt"], "error": None},
    "missing object": api_failure("404"),
    "too large": api_failure("413"),
    "wrong type": api_failure("415"),
    "missing bucket": api_failure("404"),
    "public url": {"status": 200, "text": "public hello", "error": None},
    "delete non-empty": api_failure("409"),
    "empty bucket": {"message": "string", "error": None, "left": []},
    "delete bucket": {
        "data": {"message": "Successfully deleted"},
        "error": None,
        "ids": ["avatars", "pub"],
    },
    "sign up": {"ada": True, "bob": True},
    "user upload": {"path": True, "error": None},
    "user reads own": {"text": "PNG ada", "names": ["me.png"]},
    "other user": {
        "download": api_failure("404"),
        "list": [],
        "root": [],
        "exists": False,
        "remove": [],
        "overwrite": "403",
        "still": "PNG ada",
    },
}


def prepare_avatars(server: LiveServer, key: str) -> None:
    """Autoconfirm sign-ups, and an ``avatars`` bucket with owner-only policies (keys the
    SDKs cannot send, hence plain HTTP)."""
    headers = {"apikey": key, "Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        configured = client.patch("/admin/v1/auth/config", json={"mailer_autoconfirm": True})
        assert configured.status_code == 200, configured.text
        created = client.post("/storage/v1/bucket", json=AVATARS)
        assert created.status_code == 200, created.text


def test_storage_through_supabase_py(
    live_server: LiveServer, connect: Connect, tmp_path: Path
) -> None:
    storage = connect(service_role_key(live_server)).storage

    # Buckets.
    created = storage.create_bucket(
        "docs",
        options={"public": False, "file_size_limit": 1024, "allowed_mime_types": ["text/*"]},
    )
    assert created == {"name": "docs"}
    assert "docs" in [b.id for b in storage.list_buckets()]
    bucket = storage.get_bucket("docs")
    assert (bucket.public, bucket.file_size_limit, bucket.allowed_mime_types) == (
        False,
        1024,
        ["text/*"],
    )
    assert isinstance(bucket.owner, str)
    storage.update_bucket(
        "docs",
        {"public": False, "file_size_limit": 2048, "allowed_mime_types": ["text/*", "image/png"]},
    )
    bucket = storage.get_bucket("docs")
    assert (bucket.file_size_limit, bucket.allowed_mime_types) == (2048, ["text/*", "image/png"])
    duplicate_bucket = api_error(storage.create_bucket, "docs")
    assert str(duplicate_bucket.status) == "409"

    # Uploads: bytes, then a file path; upsert false then true.
    docs = storage.from_("docs")
    uploaded = docs.upload("notes/a.txt", b"alpha", {"content-type": "text/plain"})
    assert (uploaded.path, uploaded.full_path) == ("notes/a.txt", "docs/notes/a.txt")
    on_disk = tmp_path / "b.txt"
    on_disk.write_bytes(b"bravo")
    docs.upload("notes/b.txt", str(on_disk), {"content-type": "text/plain", "upsert": "false"})
    docs.upload("notes/deep/c.txt", b"charlie", {"content-type": "text/plain"})
    duplicate = api_error(docs.upload, "notes/a.txt", b"again", {"content-type": "text/plain"})
    assert (str(duplicate.status), duplicate.code) == ("409", "Duplicate")
    docs.upload("notes/a.txt", b"alpha 2", {"content-type": "text/plain", "upsert": "true"})
    assert docs.download("notes/a.txt") == b"alpha 2"
    assert docs.download("notes/b.txt") == b"bravo"
    docs.update("notes/b.txt", on_disk, {"content-type": "text/plain", "cache-control": "60"})

    # Info and existence.
    info = docs.info("notes/a.txt")
    assert (info["name"], info["size"], info["bucket_id"]) == ("notes/a.txt", 7, "docs")
    assert info["content_type"].startswith("text/plain")
    assert docs.exists("notes/a.txt") is True
    assert docs.exists("notes/nothing.txt") is False

    # Listing.
    listed = docs.list("notes")
    assert [entry["name"] for entry in listed] == ["a.txt", "b.txt", "deep"]
    assert listed[2]["id"] is None
    assert listed[0]["metadata"]["size"] == 7
    assert [e["name"] for e in docs.list("notes", {"search": "b"})] == ["b.txt"]
    by_name_desc = docs.list("notes", {"sortBy": {"column": "name", "order": "desc"}})
    assert [e["name"] for e in by_name_desc] == ["deep", "b.txt", "a.txt"]
    assert [e["name"] for e in docs.list("notes", {"limit": 1, "offset": 1})] == ["b.txt"]
    assert docs.list("nowhere") == []

    # Signed URLs, fetched with plain HTTP.
    signed = docs.create_signed_url("notes/a.txt", 60)
    assert signed["signedURL"] is not None
    fetched = httpx.get(signed["signedURL"])
    assert (fetched.status_code, fetched.content) == (200, b"alpha 2")
    assert fetched.headers["content-type"] == "text/plain"  # stored type, no charset added
    many = docs.create_signed_urls(["notes/a.txt", "notes/nothing.txt"], 60)
    assert [(item["path"], item["error"] is None) for item in many] == [
        ("notes/a.txt", True),
        ("notes/nothing.txt", False),
    ]
    assert httpx.get(str(many[0]["signedURL"])).content == b"alpha 2"
    attachment = docs.create_signed_url("notes/a.txt", 60, {"download": "x.txt"})
    disposition = httpx.get(str(attachment["signedURL"])).headers["content-disposition"]
    assert disposition.startswith("attachment")

    # Signed upload.
    upload_url = docs.create_signed_upload_url("signed/d.txt")
    put = docs.upload_to_signed_url(
        "signed/d.txt", upload_url["token"], b"delta", {"content-type": "text/plain"}
    )
    assert put.full_path == "docs/signed/d.txt"
    assert docs.download("signed/d.txt") == b"delta"

    # Move, copy, remove.
    docs.move("signed/d.txt", "moved/d.txt")
    assert docs.exists("signed/d.txt") is False
    docs.copy("moved/d.txt", "copied/d.txt")
    assert docs.download("copied/d.txt") == b"delta"
    removed = docs.remove(["moved/d.txt", "copied/d.txt", "never/there.txt"])
    assert sorted(row["name"] for row in removed) == ["copied/d.txt", "moved/d.txt"]

    # Errors.
    missing = api_error(docs.download, "notes/nothing.txt")
    assert (str(missing.status), missing.code) == ("404", "not_found")
    too_large = api_error(docs.upload, "big.txt", b"x" * 4096, {"content-type": "text/plain"})
    assert str(too_large.status) == "413"
    wrong_type = api_error(docs.upload, "x.json", b"{}", {"content-type": "application/json"})
    assert str(wrong_type.status) == "415"
    no_bucket = api_error(storage.get_bucket, "nope")
    assert str(no_bucket.status) == "404"

    # A public bucket's public URL.
    storage.create_bucket("pub", options={"public": True})
    storage.from_("pub").upload("hello.txt", b"public hello", {"content-type": "text/plain"})
    public_url = storage.from_("pub").get_public_url("hello.txt")
    public = httpx.get(public_url)
    assert (public.status_code, public.content) == (200, b"public hello")

    # Empty and delete.
    not_empty = api_error(storage.delete_bucket, "docs")
    assert str(not_empty.status) == "409"
    assert "message" in storage.empty_bucket("docs")
    assert docs.list("notes") == []
    assert storage.delete_bucket("docs") == {"message": "Successfully deleted"}
    assert "docs" not in [b.id for b in storage.list_buckets()]


def test_storage_as_end_users_through_supabase_py(
    live_server: LiveServer, connect: Connect
) -> None:
    prepare_avatars(live_server, service_role_key(live_server))
    anon = anon_key(live_server)
    ada = connect(anon)
    ada_id = ada.auth.sign_up({"email": "ada@example.com", "password": PASSWORD}).user
    assert ada_id is not None
    bob = connect(anon)
    bob.auth.sign_up({"email": "bob@example.com", "password": PASSWORD})

    mine = ada.storage.from_("avatars")
    mine.upload(f"{ada_id.id}/me.png", b"\x89PNG ada", {"content-type": "image/png"})
    assert mine.download(f"{ada_id.id}/me.png") == b"\x89PNG ada"
    assert [e["name"] for e in mine.list(ada_id.id)] == ["me.png"]
    assert mine.info(f"{ada_id.id}/me.png")["size"] == 8

    theirs = bob.storage.from_("avatars")
    hidden = api_error(theirs.download, f"{ada_id.id}/me.png")
    assert str(hidden.status) == "404"
    assert theirs.list(ada_id.id) == []
    assert theirs.list() == []
    assert theirs.exists(f"{ada_id.id}/me.png") is False
    assert theirs.remove([f"{ada_id.id}/me.png"]) == []
    overwrite = api_error(
        theirs.upload,
        f"{ada_id.id}/me.png",
        b"bob was here",
        {"content-type": "image/png", "upsert": "true"},
    )
    assert str(overwrite.status) in ("403", "409")
    assert mine.download(f"{ada_id.id}/me.png") == b"\x89PNG ada"


def test_storage_through_supabase_js(
    node: str, live_server: LiveServer, subtests: pytest.Subtests
) -> None:
    key = service_role_key(live_server)
    prepare_avatars(live_server, key)
    check_js_steps(
        node, "storage.mjs", [live_server.url, key, anon_key(live_server)], JS_EXPECTED, subtests
    )
