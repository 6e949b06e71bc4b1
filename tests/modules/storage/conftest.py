"""Shared helpers of the storage tests: keys, signed-in users, buckets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from apprun.config import Settings
from apprun.core.ids import new_id
from apprun.testing import ScenarioEnv
from apprun.testing.databases import TestDatabase

PASSWORD = "a long and unusual passphrase"


@dataclass
class Kit:
    env: ScenarioEnv
    project: str = "default"

    @property
    def client(self) -> httpx.AsyncClient:
        return self.env.client

    async def service(self) -> dict[str, str]:
        key = await self.env.key(self.project, "service_role")
        return {"apikey": key, "Authorization": f"Bearer {key}"}

    async def anon(self) -> dict[str, str]:
        key = await self.env.key(self.project, "anon")
        return {"apikey": key, "Authorization": f"Bearer {key}"}

    async def user(self, email: str) -> tuple[str, dict[str, str]]:
        """A confirmed, signed-in user → (user id, headers)."""
        service = await self.service()
        response = await self.client.patch(
            "/admin/v1/auth/config", headers=service, json={"mailer_autoconfirm": True}
        )
        assert response.status_code == 200, response.text
        anon = await self.anon()
        response = await self.client.post(
            "/auth/v1/signup", headers=anon, json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        session = response.json()
        headers = {"apikey": anon["apikey"], "Authorization": f"Bearer {session['access_token']}"}
        return session["user"]["id"], headers

    async def blob_keys(self) -> list[str]:
        """Every blob of the project in its store (temporary files included), sorted."""
        store = self.env.services.storage.blobs.project(self.project)
        keys: set[str] = set()
        for prefix in ("", ".tmp/"):
            keys |= {entry.key async for entry in store.list(prefix)}
        return sorted(keys)

    async def bucket(self, name: str, **options: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/storage/v1/bucket", headers=await self.service(), json={"name": name, **options}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "text/plain",
        **extra: str,
    ) -> httpx.Response:
        sent = {**(headers or await self.service()), "content-type": content_type, **extra}
        return await self.client.post(
            f"/storage/v1/object/{bucket}/{key}", headers=sent, content=data
        )


@pytest.fixture(params=["disk", "s3"])
def blob_backend(request: pytest.FixtureRequest) -> str:
    """Every storage API test runs on both blob stores (and, through ``database``, on both
    databases)."""
    return str(request.param)


@pytest.fixture
def settings(database: TestDatabase, blob_backend: str, request: pytest.FixtureRequest) -> Settings:
    if blob_backend == "disk":
        return database.settings()
    seaweed = request.getfixturevalue("seaweed")
    return database.settings(
        storage_url=seaweed.url_for(f"t-{new_id()}"),
        storage={
            "s3_access_key_id": seaweed.access_key,
            "s3_secret_access_key": seaweed.secret_key,
        },
    )


@pytest.fixture
def kit(env: ScenarioEnv) -> Kit:
    return Kit(env)


def storage_error(response: httpx.Response) -> tuple[int, str, str]:
    """(HTTP status, body statusCode, body code) of a Storage error."""
    body = response.json()
    assert set(body) == {"statusCode", "error", "message", "code"}, body
    return response.status_code, body["statusCode"], body["code"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the S3 store with SQLite only: the database and the blob store are independent
    seams (each covered on its own), and the full cross product would double the suite's
    time for no path that depends on both."""
    selected, deselected = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        values = params.params if params is not None else {}
        if values.get("database") == "postgres" and values.get("blob_backend") == "s3":
            deselected.append(item)
        else:
            selected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


async def other_project(kit: Kit, project: str = "other") -> Kit:
    """A second project (created by the platform admin) and a Kit on it."""
    response = await kit.client.post(
        "/admin/v1/projects",
        headers=await kit.env.admin_headers(),
        json={"id": project, "name": project.title()},
    )
    assert response.status_code == 201, response.text
    return Kit(kit.env, project)
