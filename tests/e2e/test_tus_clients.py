"""Real tus clients against a live server (two workers): tuspy and tus-js-client upload a few
MiB in small chunks, stop part way, resume with a new client, and the object's bytes match."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from tusclient.client import TusClient
from tusclient.storage.filestorage import FileStorage
from tusclient.uploader import Uploader

from apprun.testing.live import LiveServer
from tests.e2e.conftest import JS_DIR, service_role_key

pytestmark = [
    pytest.mark.live,
    # tuspy's FileStorage (TinyDB) never closes its file
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]
SIZE = 3 * 1024 * 1024 + 12345
CHUNK = 256 * 1024


def prepare(server: LiveServer, tmp_path: Path) -> tuple[str, Path, bytes]:
    key = service_role_key(server)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        made = client.post(
            "/storage/v1/bucket",
            headers={"apikey": key, "Authorization": f"Bearer {key}"},
            json={"name": "tus"},
        )
        assert made.status_code == 200, made.text
    data = os.urandom(SIZE)
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    return key, source, data


def downloaded(server: LiveServer, key: str, name: str) -> bytes:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        got = client.get(
            f"/storage/v1/object/tus/{name}",
            headers={"apikey": key, "Authorization": f"Bearer {key}"},
        )
    assert got.status_code == 200, got.text
    return got.content


def test_tuspy_abort_and_resume(live_server: LiveServer, tmp_path: Path) -> None:
    key, source, data = prepare(live_server, tmp_path)
    headers = {"apikey": key, "Authorization": f"Bearer {key}"}
    endpoint = f"{live_server.url}/storage/v1/upload/resumable"
    storage = FileStorage(str(tmp_path / "tus-urls.json"))
    metadata = {"bucketName": "tus", "objectName": "py.bin"}

    def uploader(client: TusClient) -> Uploader:
        return client.uploader(
            file_path=str(source),
            chunk_size=CHUNK,
            metadata=metadata,
            store_url=True,
            url_storage=storage,
            upload_checksum=True,
        )

    first = uploader(TusClient(endpoint, headers=headers))
    first.upload(stop_at=CHUNK * 5)
    assert CHUNK * 5 <= first.offset < SIZE
    url = first.url
    second = uploader(TusClient(endpoint, headers=headers))  # a new client: the stored URL
    assert second.url == url
    assert second.offset == first.offset
    second.upload()
    assert second.offset == SIZE
    got = downloaded(live_server, key, "py.bin")
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()


def test_tus_js_client_abort_and_resume(live_server: LiveServer, tmp_path: Path, node: str) -> None:
    if not (JS_DIR / "node_modules" / "tus-js-client" / "package.json").exists():
        pytest.skip("tus-js-client is not installed: run `npm ci --prefix tests/e2e/js`")
    key, source, data = prepare(live_server, tmp_path)
    done = subprocess.run(
        [node, str(JS_DIR / "tus.mjs"), live_server.url, key, str(source), "js.bin"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr + live_server.log()[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["url"].startswith(f"{live_server.url}/storage/v1/upload/resumable/")
    assert result["resumedFrom"] >= 1024 * 1024
    got = downloaded(live_server, key, "js.bin")
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
