"""/admin/v1/projects: who may do what, and what each answer holds."""

from __future__ import annotations

import pytest

from apprun.testing import (
    ApiScenario,
    ScenarioEnv,
    as_admin,
    as_anon,
    as_service,
    no_auth,
    raw_headers,
    scenarios,
)

pytestmark = pytest.mark.anyio


async def create_other(env: ScenarioEnv) -> None:
    headers = await env.admin_headers()
    response = await env.client.post(
        "/admin/v1/projects", headers=headers, json={"id": "other", "name": "Other"}
    )
    assert response.status_code == 201, response.text


CASES = scenarios(
    ApiScenario(
        "list as anonymous",
        "GET",
        "/admin/v1/projects",
        auth=no_auth(),
        expected_status=401,
        expected_content=('"auth.unauthorized"',),
    ),
    ApiScenario(
        "list with the anon key",
        "GET",
        "/admin/v1/projects",
        auth=as_anon(),
        expected_status=403,
        expected_content=('"platform.admin_required"',),
    ),
    ApiScenario(
        "list with the service_role key",
        "GET",
        "/admin/v1/projects",
        auth=as_service(),
        expected_status=403,
    ),
    ApiScenario(
        "list as admin",
        "GET",
        "/admin/v1/projects",
        auth=as_admin(),
        expected_status=200,
        expected_len=1,
        expected_content=('"id":"default"',),
    ),
    ApiScenario(
        "list with a forged bearer",
        "GET",
        "/admin/v1/projects",
        auth=raw_headers(Authorization="Bearer not.a.jwt"),
        expected_status=401,
        expected_content=('"auth.invalid_api_key"',),
    ),
    ApiScenario(
        "create as admin",
        "POST",
        "/admin/v1/projects",
        auth=as_admin(),
        json={"id": "shop", "name": "Shop"},
        expected_status=201,
        expected_content=('"id":"shop"', '"cluster":"default"'),
        not_expected_content=("signing_secret",),
        expected_hooks={"platform.project.created": 1},
    ),
    ApiScenario(
        "create derives the id from the name",
        "POST",
        "/admin/v1/projects",
        auth=as_admin(),
        json={"name": "My Shop 2"},
        expected_status=201,
        expected_content=('"id":"my-shop-2"',),
    ),
    ApiScenario(
        "create with the service key",
        "POST",
        "/admin/v1/projects",
        auth=as_service(),
        json={"id": "shop", "name": "Shop"},
        expected_status=403,
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "create with an id that is not a slug",
        "POST",
        "/admin/v1/projects",
        auth=as_admin(),
        json={"id": "Bad_Id", "name": "x"},
        expected_status=422,
        expected_content=('"field":"id"',),
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "create with a wrong type",
        "POST",
        "/admin/v1/projects",
        auth=as_admin(),
        json={"name": 12},
        expected_status=422,
        expected_content=('"field":"name"',),
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "create with an unknown field",
        "POST",
        "/admin/v1/projects",
        auth=as_admin(),
        json={"name": "x", "owner": "me"},
        expected_status=422,
        expected_content=('"field":"owner"',),
    ),
    ApiScenario(
        "create with broken JSON",
        "POST",
        "/admin/v1/projects",
        auth=as_admin(),
        content=b'{"name": ',
        headers={"content-type": "application/json"},
        expected_status=400,
        expected_content=('"request.invalid_json"',),
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "create on an unknown cluster",
        "POST",
        "/admin/v1/projects",
        auth=as_admin(),
        json={"name": "x", "cluster": "mars"},
        expected_status=400,
        expected_content=('"platform.unknown_cluster"',),
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "create an id that exists",
        "POST",
        "/admin/v1/projects",
        auth=as_admin(),
        json={"id": "default", "name": "Again"},
        expected_status=409,
        expected_content=('"platform.project_exists"',),
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "get one",
        "GET",
        "/admin/v1/projects/default",
        auth=as_admin(),
        expected_content=('"name":"Default project"',),
    ),
    ApiScenario(
        "get a missing one",
        "GET",
        "/admin/v1/projects/nope",
        auth=as_admin(),
        expected_status=404,
        expected_content=('"platform.project_not_found"',),
    ),
    ApiScenario(
        "rename",
        "PATCH",
        "/admin/v1/projects/default",
        auth=as_admin(),
        json={"name": "Main"},
        expected_content=('"name":"Main"',),
        expected_hooks={"platform.project.updated": 1},
    ),
    ApiScenario(
        "rename to nothing",
        "PATCH",
        "/admin/v1/projects/default",
        auth=as_admin(),
        json={"name": ""},
        expected_status=422,
    ),
    ApiScenario(
        "move to another cluster is not a rename",
        "PATCH",
        "/admin/v1/projects/default",
        auth=as_admin(),
        json={"name": "x", "cluster": "eu"},
        expected_status=422,
    ),
    ApiScenario(
        "delete without confirm",
        "DELETE",
        "/admin/v1/projects/other",
        auth=as_admin(),
        setup=create_other,
        expected_status=400,
        expected_content=('"platform.confirmation_required"',),
        expected_hooks={"platform.project.deleted": 0},
    ),
    ApiScenario(
        "delete with confirm",
        "DELETE",
        "/admin/v1/projects/other?confirm=true",
        auth=as_admin(),
        setup=create_other,
        expected_status=204,
        expected_hooks={"platform.project.deleted": 1},
    ),
    ApiScenario(
        "delete the default project",
        "DELETE",
        "/admin/v1/projects/default?confirm=true",
        auth=as_admin(),
        expected_status=409,
        expected_content=('"platform.project_protected"',),
    ),
    ApiScenario(
        "delete as the project's own service key",
        "DELETE",
        "/admin/v1/projects/other?confirm=true",
        auth=as_service("other"),
        setup=create_other,
        expected_status=403,
    ),
    ApiScenario(
        "keys as admin",
        "GET",
        "/admin/v1/projects/default/keys",
        auth=as_admin(),
        expected_len=2,
        expected_content=('"name":"anon"', '"name":"service_role"'),
    ),
    ApiScenario(
        "keys with the service key",
        "GET",
        "/admin/v1/projects/default/keys",
        auth=as_service(),
        expected_status=403,
        not_expected_content=("eyJ",),
    ),
    ApiScenario(
        "keys of a missing project",
        "GET",
        "/admin/v1/projects/nope/keys",
        auth=as_admin(),
        expected_status=404,
    ),
)


@pytest.mark.parametrize("case", CASES)
async def test_projects_api(case: ApiScenario, env: ScenarioEnv) -> None:
    await case.run(env)


async def test_created_project_is_listed_and_deleted_with_its_data(
    env: ScenarioEnv, as_admin: dict[str, str]
) -> None:
    await create_other(env)
    listed = await env.client.get("/admin/v1/projects", headers=as_admin)
    assert [p["id"] for p in listed.json()] == ["default", "other"]
    service = await env.key_headers("other", "service_role")
    patched = await env.client.patch(
        "/admin/v1/settings", headers=service, json={"site_url": "https://other.example"}
    )
    assert patched.status_code == 200
    placement = await env.services.platform.placement("other")
    db = env.services.tenancy.project_db(placement)
    sqlite_file = env.services.tenancy.sqlite_path("other")
    assert db.schema is not None or sqlite_file.exists()

    deleted = await env.client.delete("/admin/v1/projects/other?confirm=true", headers=as_admin)
    assert deleted.status_code == 204
    assert (await env.client.get("/admin/v1/projects/other", headers=as_admin)).status_code == 404
    # Its keys stopped working and its data is gone.
    refused = await env.client.get("/admin/v1/settings", headers=service)
    assert refused.status_code == 401
    if db.schema is None:
        assert not sqlite_file.exists()
    else:
        async with env.services.tenancy.control.read() as conn:
            from sqlalchemy import text

            found = await conn.execute(
                text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"),
                {"s": db.schema},
            )
            assert found.first() is None


async def test_a_recreated_project_starts_empty(env: ScenarioEnv, as_admin: dict[str, str]) -> None:
    await create_other(env)
    service = await env.key_headers("other", "service_role")
    await env.client.patch("/admin/v1/settings", headers=service, json={"site_url": "https://a"})
    await env.client.delete("/admin/v1/projects/other?confirm=true", headers=as_admin)
    await create_other(env)
    fresh = await env.key_headers("other", "service_role")
    settings = await env.client.get("/admin/v1/settings", headers=fresh)
    assert settings.status_code == 200
    assert settings.json()["site_url"] is None
