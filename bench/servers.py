"""The two servers: start on a fresh data dir, seed through the public API, snapshot, restore."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import dataset

START_TIMEOUT = 60.0
USER_EMAIL = "bench-user@example.com"
USER_PASSWORD = "bench user passphrase 1"  # noqa: S105 - a throwaway local account
ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench admin passphrase 1"  # noqa: S105
BATCH = 500
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Request:
    """One kind of request a scenario sends; `path` ends where a row id is appended if `by_id`."""

    method: str
    path: str
    headers: dict[str, str]
    body: str | None = None
    by_id: bool = False
    suffix: str = ""


@dataclass
class Server:
    name: str
    workdir: Path
    snapshot: Path = field(init=False)
    run_dir: Path = field(init=False)
    url: str = ""
    process: subprocess.Popen[bytes] | None = None
    ids: list[str] = field(default_factory=list)
    owned_ids: list[str] = field(default_factory=list)
    cold_start_seconds: float = 0.0

    def __post_init__(self) -> None:
        self.snapshot = self.workdir / f"{self.name}-snapshot"
        self.run_dir = self.workdir / f"{self.name}-run"

    # -- lifecycle --------------------------------------------------------------------------
    def command(self, port: int) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    health_path = "/"

    def start(self) -> float:
        """Start on `run_dir`; return the seconds until the first healthy response."""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = (self.workdir / f"{self.name}.log").open("ab")
        began = time.monotonic()
        self.process = subprocess.Popen(
            self.command(port), env=self.env(), stdout=log, stderr=subprocess.STDOUT
        )
        while time.monotonic() - began < START_TIMEOUT:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                if httpx.get(self.url + self.health_path, timeout=1).status_code == 200:
                    return time.monotonic() - began
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {START_TIMEOUT}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def setup(self) -> None:
        """Fresh dir, seed through the API, stop, snapshot."""
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(parents=True)
        self.prepare_dir()
        self.cold_start_seconds = self.start()
        try:
            with httpx.Client(base_url=self.url, timeout=60) as client:
                self.seed(client)
        finally:
            self.stop()
        shutil.rmtree(self.snapshot, ignore_errors=True)
        shutil.copytree(self.run_dir, self.snapshot)

    def restore_and_start(self) -> float:
        self.stop()
        shutil.rmtree(self.run_dir, ignore_errors=True)
        shutil.copytree(self.snapshot, self.run_dir)
        return self.start()

    def prepare_dir(self) -> None:
        """Anything to do on the fresh dir before the first start."""

    def seed(self, client: httpx.Client) -> None:
        raise NotImplementedError

    # -- the scenarios' requests ------------------------------------------------------------
    def sign_in(self) -> str:
        raise NotImplementedError

    def requests(self, token: str | None, skip_total: bool = False) -> dict[str, Request]:
        """list, filter, get, create and auth-get requests (auth-get only with a token)."""
        raise NotImplementedError


class Apprun(Server):
    health_path = "/healthz"

    def __init__(self, workdir: Path, workers: int) -> None:
        super().__init__("apprun", workdir)
        self.workers = workers
        self.secret = secrets.token_urlsafe(48)
        self.anon_key = self.service_key = ""

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("APPRUN_")}
        env.update(
            {
                "APPRUN_SECRET_KEY": self.secret,
                "APPRUN_DATA_DIR": str(self.run_dir),
                "APPRUN_CONFIG_FILE": str(self.workdir / "no-apprun.toml"),
                # One client IP sends every request: the per-IP limit would answer 429.
                # PocketBase ships with its rate limiter off, too.
                "APPRUN_RATE_LIMIT__ENABLED": "false",
            }
        )
        return env

    def command(self, port: int) -> list[str]:
        return [
            *(sys.executable, "-m", "apprun", "serve"),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", str(self.workers)),
        ]

    def _keys(self) -> None:
        out = subprocess.run(
            [sys.executable, "-m", "apprun", "projects", "keys", "default"],
            env={**self.env(), "COLUMNS": "10000"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        self.anon_key = out[out.index("anon") + 1]
        self.service_key = out[out.index("service_role") + 1]

    def _service(self) -> dict[str, str]:
        return {"apikey": self.service_key, "Authorization": f"Bearer {self.service_key}"}

    def seed(self, client: httpx.Client) -> None:
        self._keys()
        service = self._service()
        text = [{"name": "title", "type": "text"}, {"name": "body", "type": "text"}]
        fields = [
            *text,
            {"name": "views", "type": "integer"},
            {"name": "published", "type": "boolean"},
        ]
        collection = {
            "name": "posts",
            "fields": fields,
            "indexes": [{"fields": ["views"]}],  # created_at is indexed on every collection
            "policies": {"select": "", "insert": ""},
            "grants": {"anon": ["select", "insert"]},
        }
        _ok(client.post("/admin/v1/collections", headers=service, json=collection))
        user = {"email": USER_EMAIL, "password": USER_PASSWORD, "email_confirm": True}
        user_id = _ok(client.post("/auth/v1/admin/users", headers=service, json=user))["id"]
        owned = {
            "name": "private_posts",
            "fields": [*fields, {"name": "owner", "type": "relation", "collection": "auth.users"}],
            "indexes": [{"fields": ["views"]}],
            "policies": {"select": "owner = @auth.id"},
            "grants": {"authenticated": ["select"]},
        }
        _ok(client.post("/admin/v1/collections", headers=service, json=owned))
        self.ids = self._insert(client, "posts", dataset.posts())
        rows = [{**r, "owner": user_id} for r in dataset.posts(dataset.OWNED_ROWS, seed=9)]
        self.owned_ids = self._insert(client, "private_posts", rows)

    def _insert(self, client: httpx.Client, table: str, rows: list[dict[str, Any]]) -> list[str]:
        headers = {**self._service(), "Prefer": "return=representation"}
        ids: list[str] = []
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            got = _ok(client.post(f"/rest/v1/{table}?select=id", headers=headers, json=chunk))
            ids += [row["id"] for row in got]
        return ids

    def sign_in(self) -> str:
        r = httpx.post(
            f"{self.url}/auth/v1/token?grant_type=password",
            headers={"apikey": self.anon_key},
            json={"email": USER_EMAIL, "password": USER_PASSWORD},
        )
        return str(_ok(r)["access_token"])

    def requests(self, token: str | None, skip_total: bool = False) -> dict[str, Request]:
        anon = {"apikey": self.anon_key, "Authorization": f"Bearer {self.anon_key}"}
        one = {**anon, "Accept": "application/vnd.pgrst.object+json"}
        page = "select=*&order=created_at.desc&limit=20"
        out = {
            "list": Request("GET", f"/rest/v1/posts?{page}", anon),
            "filter": Request("GET", f"/rest/v1/posts?{page}&views=gt.500", anon),
            "get": Request("GET", "/rest/v1/posts?select=*&id=eq.", one, by_id=True),
            "create": Request(
                "POST",
                "/rest/v1/posts",
                {**anon, "Content-Type": "application/json", "Prefer": "return=representation"},
                _json(dataset.create_body()),
            ),
        }
        if token:
            user = {**one, "Authorization": f"Bearer {token}"}
            out["auth-get"] = Request(
                "GET", "/rest/v1/private_posts?select=*&id=eq.", user, by_id=True
            )
        return out


class PocketBase(Server):
    health_path = "/api/health"

    def __init__(self, workdir: Path) -> None:
        super().__init__("pocketbase", workdir)

    @staticmethod
    def binary() -> str:
        return str(BIN / "pocketbase")

    @classmethod
    def version(cls) -> str:
        out = subprocess.run(
            [cls.binary(), "--version"], check=False, capture_output=True, text=True
        )
        return out.stdout.strip().rsplit(" ", 1)[-1]

    def command(self, port: int) -> list[str]:
        return [self.binary(), "serve", "--http", f"127.0.0.1:{port}", "--dir", str(self.run_dir)]

    def prepare_dir(self) -> None:
        subprocess.run(
            [
                *(self.binary(), "superuser", "upsert", ADMIN_EMAIL, ADMIN_PASSWORD),
                *("--dir", str(self.run_dir)),
            ],
            check=True,
            capture_output=True,
        )

    def seed(self, client: httpx.Client) -> None:
        auth = _ok(
            client.post(
                "/api/collections/_superusers/auth-with-password",
                json={"identity": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            )
        )
        admin = {"Authorization": auth["token"]}
        # The batch API loads the rows 500 at a time, as apprun's array insert does.
        batch = {"enabled": True, "maxRequests": BATCH, "timeout": 60, "maxBodySize": 0}
        _ok(client.patch("/api/settings", headers=admin, json={"batch": batch}))
        fields = [
            {"name": "title", "type": "text"},
            {"name": "body", "type": "text"},
            {"name": "views", "type": "number", "onlyInt": True},
            {"name": "published", "type": "bool"},
            {"name": "created", "type": "autodate", "onCreate": True},
            {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
        ]
        posts = {
            "name": "posts",
            "type": "base",
            "fields": fields,
            "indexes": [
                "CREATE INDEX idx_posts_created ON posts (created)",
                "CREATE INDEX idx_posts_views ON posts (views)",
            ],
            "listRule": "",
            "viewRule": "",
            "createRule": "",
        }
        _ok(client.post("/api/collections", headers=admin, json=posts))
        users = _ok(client.get("/api/collections/users", headers=admin))
        user = {"email": USER_EMAIL, "password": USER_PASSWORD, "passwordConfirm": USER_PASSWORD}
        user_id = _ok(client.post("/api/collections/users/records", headers=admin, json=user))["id"]
        owner = {"name": "owner", "type": "relation", "collectionId": users["id"], "maxSelect": 1}
        owned = {
            "name": "private_posts",
            "type": "base",
            "fields": [*fields, owner],
            "indexes": [
                "CREATE INDEX idx_private_posts_created ON private_posts (created)",
                "CREATE INDEX idx_private_posts_views ON private_posts (views)",
            ],
            "listRule": "owner = @request.auth.id",
            "viewRule": "owner = @request.auth.id",
        }
        _ok(client.post("/api/collections", headers=admin, json=owned))
        self.ids = self._insert(client, admin, "posts", dataset.posts())
        rows = [{**r, "owner": user_id} for r in dataset.posts(dataset.OWNED_ROWS, seed=9)]
        self.owned_ids = self._insert(client, admin, "private_posts", rows)

    @staticmethod
    def _insert(
        client: httpx.Client, admin: dict[str, str], name: str, rows: list[dict[str, Any]]
    ) -> list[str]:
        ids: list[str] = []
        url = f"/api/collections/{name}/records"
        for start in range(0, len(rows), BATCH):
            reqs = [{"method": "POST", "url": url, "body": r} for r in rows[start : start + BATCH]]
            got = _ok(client.post("/api/batch", headers=admin, json={"requests": reqs}))
            ids += [item["body"]["id"] for item in got]
        return ids

    def sign_in(self) -> str:
        r = httpx.post(
            f"{self.url}/api/collections/users/auth-with-password",
            json={"identity": USER_EMAIL, "password": USER_PASSWORD},
        )
        return str(_ok(r)["token"])

    def requests(self, token: str | None, skip_total: bool = False) -> dict[str, Request]:
        skip = "&skipTotal=1" if skip_total else ""
        page = f"/api/collections/posts/records?perPage=20&sort=-created{skip}"
        out = {
            "list": Request("GET", page, {}),
            "filter": Request("GET", page + "&filter=views%3E500", {}),
            "get": Request("GET", "/api/collections/posts/records/", {}, by_id=True),
            "create": Request(
                "POST",
                "/api/collections/posts/records",
                {"Content-Type": "application/json"},
                _json(dataset.create_body()),
            ),
        }
        if token:
            out["auth-get"] = Request(
                "GET",
                "/api/collections/private_posts/records/",
                {"Authorization": token},
                by_id=True,
            )
        return out


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _ok(response: httpx.Response) -> Any:
    if not response.is_success:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} -> "
            f"{response.status_code}: {response.text[:500]}"
        )
    return response.json() if response.content else None
