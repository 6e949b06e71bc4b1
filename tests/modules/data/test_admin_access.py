"""Who may use the data module's admin endpoints: every endpoint tried without a key, with the
anon key, with another project's service key, with the service key and as an admin."""

from __future__ import annotations

import pytest

from apprun.testing import (
    ApiScenario,
    ScenarioEnv,
    as_admin,
    as_anon,
    as_service,
    no_auth,
    scenarios,
)

pytestmark = pytest.mark.anyio

ENDPOINTS = [
    ("GET", "/admin/v1/collections", None),
    ("POST", "/admin/v1/collections", {"name": "notes", "fields": []}),
    ("GET", "/admin/v1/collections/notes", None),
    ("PATCH", "/admin/v1/collections/notes", {"policies": {"select": ""}}),
    ("DELETE", "/admin/v1/collections/notes?confirm=true", None),
    ("GET", "/admin/v1/migrations", None),
    ("GET", "/admin/v1/schema", None),
    ("POST", "/admin/v1/schema/apply?dry_run=true", {"collections": []}),
    ("GET", "/admin/v1/roles", None),
    ("POST", "/admin/v1/roles", {"name": "editor"}),
    ("GET", "/admin/v1/users/u1/roles", None),
    ("PUT", "/admin/v1/users/u1/roles", {"roles": []}),
    ("GET", "/rest/v1/", None),
]


async def make_notes(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    created = await env.client.post(
        "/admin/v1/collections", headers=service, json={"name": "notes", "fields": []}
    )
    assert created.status_code in (201, 409)
    admin = await env.admin_headers()
    await env.client.post(
        "/admin/v1/projects", headers=admin, json={"id": "other", "name": "Other"}
    )


def refused_status(label: str, url: str) -> int:
    # No key: 401. The anon key is a known caller: 403 on admin endpoints, while /rest/v1
    # answers privilege errors of the anon role with 401, as PostgREST does.
    return 401 if label == "no key" or url.startswith("/rest/") else 403


REFUSED = scenarios(
    *[
        ApiScenario(
            f"{label}: {method} {url}",
            method,
            url,
            auth=auth,
            json=body,
            setup=make_notes,
            expected_status=refused_status(label, url),
            expected_hooks={
                "data.collection.created": 0,
                "data.collection.updated": 0,
                "data.collection.deleted": 0,
            },
        )
        for method, url, body in ENDPOINTS
        for label, auth in [("no key", no_auth()), ("anon key", as_anon())]
    ]
)


@pytest.mark.parametrize("case", REFUSED)
async def test_without_the_service_role(case: ApiScenario, env: ScenarioEnv) -> None:
    await case.run(env)


ALLOWED = scenarios(
    *[
        ApiScenario(
            f"{label}: {method} {url}",
            method,
            url,
            auth=auth,
            json=body,
            headers={"X-Apprun-Project": "default"} if label == "admin" else {},
            setup=make_notes,
            expected_status=status,
        )
        for method, url, body, status in [
            ("GET", "/admin/v1/collections", None, 200),
            ("GET", "/admin/v1/collections/notes", None, 200),
            ("GET", "/admin/v1/migrations", None, 200),
            ("GET", "/admin/v1/roles", None, 200),
            ("GET", "/rest/v1/", None, 200),
        ]
        for label, auth in [("service key", as_service()), ("admin", as_admin())]
    ]
)


@pytest.mark.parametrize("case", ALLOWED)
async def test_with_the_service_role_or_as_admin(case: ApiScenario, env: ScenarioEnv) -> None:
    await case.run(env)


async def test_another_projects_key_sees_its_own_project(env: ScenarioEnv) -> None:
    await make_notes(env)
    other = await env.key_headers("other", "service_role")
    assert (await env.client.get("/admin/v1/collections", headers=other)).json() == []
    missing = await env.client.get("/admin/v1/collections/notes", headers=other)
    assert missing.status_code == 404
    cross = await env.client.get(
        "/admin/v1/collections", headers={**other, "X-Apprun-Project": "default"}
    )
    assert cross.status_code == 401
    assert cross.json()["error"]["code"] == "auth.project_mismatch"
