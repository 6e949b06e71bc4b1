"""A real apprun server in a subprocess (uvicorn, N workers) on 127.0.0.1 and a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from apprun.testing.databases import TEST_SECRET, TestDatabase

START_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_live_server(
    db: TestDatabase, workers: int = 2, extra_env: dict[str, str] | None = None
) -> LiveServer:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPRUN_")}
    env.update(
        {
            "APPRUN_SECRET_KEY": TEST_SECRET,
            "APPRUN_DATA_DIR": str(db.data_dir),
            "APPRUN_CONFIG_FILE": str(db.data_dir / "no-such-apprun.toml"),
            **({"APPRUN_DATABASE_URL": db.database_url} if db.database_url else {}),
            **{f"APPRUN_CLUSTERS__{k.upper()}": v for k, v in db.clusters.items()},
            **(extra_env or {}),
        }
    )
    log_path = db.data_dir.parent / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "apprun",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"apprun serve exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(
        f"apprun serve did not answer within {START_TIMEOUT_SECONDS}s:\n{server.log()}"
    )
