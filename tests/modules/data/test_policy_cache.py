"""Policies are compiled once and reused while the policy, the tables it reads and the
caller's values stay the same; each caller still sees only what the policy gives them."""

from __future__ import annotations

from typing import Any

import pytest

from apprun.testing import ScenarioEnv
from tests.modules.auth.conftest import bearer
from tests.modules.auth.users import sign_in
from tests.modules.data.test_auth_users import (
    A_EMAIL,
    B_EMAIL,
    create_collection,
    users_and_notes,
)

pytestmark = pytest.mark.anyio


async def titles(env: ScenarioEnv, session: dict[str, Any], table: str = "notes") -> list[str]:
    response = await env.client.get(
        f"/rest/v1/{table}?select=title&order=title", headers=await bearer(env, session)
    )
    assert response.status_code == 200, response.text
    return [row["title"] for row in response.json()]


def compilations(env: ScenarioEnv) -> int:
    return env.services.data.access.compiled.compilations


async def test_one_compilation_per_caller(env: ScenarioEnv) -> None:
    await users_and_notes(env)
    ada, bob = await sign_in(env, A_EMAIL), await sign_in(env, B_EMAIL)
    before = compilations(env)
    assert await titles(env, ada) == ["Ada's"]
    assert await titles(env, ada) == ["Ada's"]
    assert compilations(env) == before + 1
    assert await titles(env, bob) == ["Bob's"]  # other values: compiled for Bob
    assert await titles(env, ada) == ["Ada's"]
    assert compilations(env) == before + 2


async def test_a_changed_collection_is_compiled_again(env: ScenarioEnv) -> None:
    """A policy reading through a relation: when the related collection changes, its table
    is another object and the cached filter is not used."""
    await users_and_notes(env)
    service = await env.key_headers("default", "service_role")
    await create_collection(env, {
        "name": "comments",
        "fields": [{"name": "body", "type": "text"},
                   {"name": "note", "type": "relation", "collection": "notes"}],
        "policies": {"select": "note.title = \"Ada's\""},
        "grants": {"authenticated": ["select"]},
    })  # fmt: skip
    rows = [{"body": "on ada's", "note": "note-a"}, {"body": "on bob's", "note": "note-b"}]
    assert (
        await env.client.post("/rest/v1/comments", headers=service, json=rows)
    ).status_code == 201
    ada = await sign_in(env, A_EMAIL)

    async def bodies() -> list[str]:
        response = await env.client.get(
            "/rest/v1/comments?select=body", headers=await bearer(env, ada)
        )
        assert response.status_code == 200, response.text
        return [row["body"] for row in response.json()]

    assert await bodies() == ["on ada's"]
    compiled = compilations(env)
    assert await bodies() == ["on ada's"] and compilations(env) == compiled
    changed = await env.client.patch(
        "/admin/v1/collections/notes", headers=service,
        json={"fields": [{"name": "title", "type": "text", "required": True},
                         {"name": "owner", "type": "relation", "collection": "auth.users",
                          "on_delete": "cascade"},
                         {"name": "pinned", "type": "boolean"}]},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert await bodies() == ["on ada's"]
    assert compilations(env) == compiled + 1


async def test_policies_on_now_are_compiled_every_time(env: ScenarioEnv) -> None:
    await users_and_notes(env)
    service = await env.key_headers("default", "service_role")
    patched = await env.client.patch(
        "/admin/v1/collections/notes", headers=service,
        json={"policies": {"select": "owner = @auth.id && created_at <= @now"}},
    )  # fmt: skip
    assert patched.status_code == 200, patched.text
    ada = await sign_in(env, A_EMAIL)
    before = compilations(env)
    assert await titles(env, ada) == ["Ada's"]
    assert await titles(env, ada) == ["Ada's"]
    assert compilations(env) == before  # never cached
