"""Grants (RBAC) and policies (ABAC) on /rest/v1, for anon, users A and B, an editor, and the
service role. Signed-in users arrive with the auth module; until then their requests are built
here as the pipeline will build them (a RequestContext with an authenticated Principal)."""

from __future__ import annotations

from typing import Any

import pytest

from apprun.core.context import Principal, RequestContext, Role
from apprun.lib.postgrest import parse_request
from apprun.modules.data.errors import RestError
from apprun.testing import ApiScenario, ScenarioEnv, as_anon, as_service, scenarios

pytestmark = pytest.mark.anyio
Headers = dict[str, str]

POSTS: dict[str, Any] = {
    "name": "posts",
    "fields": [
        {"name": "title", "type": "text", "required": True},
        {"name": "published", "type": "boolean", "default": False},
        {"name": "owner", "type": "text"},
        {"name": "secret", "type": "text", "hidden": True},
    ],
    "policies": {
        "select": "published = true || owner = @auth.id",
        "insert": "owner = @auth.id",
        "update": 'owner = @auth.id || has_role("editor")',
        "delete": None,
    },
    "grants": {
        "anon": ["select"],
        "authenticated": ["select", "insert", "update", "delete"],
    },
}
ROWS = [
    {"id": "a-draft", "title": "A draft", "published": False, "owner": "user-a", "secret": "s1"},
    {"id": "a-live", "title": "A live", "published": True, "owner": "user-a", "secret": "s2"},
    {"id": "b-draft", "title": "B draft", "published": False, "owner": "user-b", "secret": "s3"},
]


async def seed(env: ScenarioEnv, **changes: Any) -> None:
    service = await env.key_headers("default", "service_role")
    created = await env.client.post(
        "/admin/v1/collections", headers=service, json={**POSTS, **changes}
    )
    assert created.status_code == 201, created.text
    inserted = await env.client.post("/rest/v1/posts", headers=service, json=ROWS)
    assert inserted.status_code == 201, inserted.text


def user(subject: str) -> RequestContext:
    return RequestContext(
        "default", Principal(Role.AUTHENTICATED, subject=subject, key_verified=True)
    )


def query(method: str, params: str = "", prefer: str = "return=representation") -> Any:
    pairs = [tuple(p.split("=", 1)) for p in params.split("&") if p]
    return parse_request(pairs, method=method, prefer=[prefer])


async def visible_ids(env: ScenarioEnv, ctx: RequestContext) -> list[str]:
    result = await env.services.data.rows.select(ctx, "posts", query("GET", "order=id"))
    return [row["id"] for row in result.rows]


CASES = scenarios(
    ApiScenario(
        "anon sees published rows only",
        "GET",
        "/rest/v1/posts?select=id&order=id",
        auth=as_anon(),
        setup=seed,
        expected_status=200,
        expected_len=1,
        expected_content=('"a-live"',),
        not_expected_content=("draft",),
    ),
    ApiScenario(
        "anon never sees hidden fields",
        "GET",
        "/rest/v1/posts",
        auth=as_anon(),
        setup=seed,
        expected_status=200,
        not_expected_content=("secret", "s2"),
    ),
    ApiScenario(
        "anon cannot filter on hidden fields",
        "GET",
        "/rest/v1/posts?secret=eq.s2",
        auth=as_anon(),
        setup=seed,
        expected_status=400,
        expected_content=('"code":"42703"',),
    ),
    ApiScenario(
        "anon has no insert grant",
        "POST",
        "/rest/v1/posts",
        auth=as_anon(),
        json={"title": "x"},
        setup=seed,
        expected_status=401,
        expected_content=('"code":"42501"',),
        expected_hooks={"data.row.inserted": 0},
    ),
    ApiScenario(
        "service role sees everything",
        "GET",
        "/rest/v1/posts",
        auth=as_service(),
        setup=seed,
        expected_len=3,
        expected_content=('"secret":"s1"',),
    ),
)


@pytest.mark.parametrize("case", CASES)
async def test_anon_and_service(case: ApiScenario, env: ScenarioEnv) -> None:
    await case.run(env)


async def test_select_policy_per_user(env: ScenarioEnv) -> None:
    await seed(env)
    assert await visible_ids(env, user("user-a")) == ["a-draft", "a-live"]
    assert await visible_ids(env, user("user-b")) == ["a-live", "b-draft"]
    assert await visible_ids(env, user("user-c")) == ["a-live"]


async def test_insert_is_checked_on_the_new_row(env: ScenarioEnv) -> None:
    await seed(env)
    rows = env.services.data.rows
    own = await rows.insert(
        user("user-a"), "posts", query("POST"), {"title": "mine", "owner": "user-a"}, False
    )
    assert own.rows[0]["owner"] == "user-a"
    assert "secret" not in own.rows[0]
    with pytest.raises(RestError) as refused:
        await rows.insert(
            user("user-a"), "posts", query("POST"), {"title": "forged", "owner": "user-b"}, False
        )
    assert refused.value.status == 403
    assert refused.value.pg_code == "42501"
    assert "row-level security" in refused.value.detail_message
    assert "forged" not in str(await visible_ids(env, user("user-b")))


async def test_update_only_reaches_allowed_rows(env: ScenarioEnv) -> None:
    await seed(env)
    rows = env.services.data.rows
    other = await rows.update(
        user("user-a"), "posts", query("PATCH", "id=eq.b-draft"), {"title": "hijacked"}, False
    )
    assert other.rows == []
    own = await rows.update(
        user("user-a"), "posts", query("PATCH", "id=eq.a-draft"), {"title": "edited"}, False
    )
    assert [r["title"] for r in own.rows] == ["edited"]


async def test_update_with_check_refuses_moving_a_row_out(env: ScenarioEnv) -> None:
    await seed(env)
    rows = env.services.data.rows
    with pytest.raises(RestError) as refused:
        await rows.update(
            user("user-a"), "posts", query("PATCH", "id=eq.a-draft"), {"owner": "user-b"}, False
        )
    assert refused.value.status == 403
    assert await visible_ids(env, user("user-a")) == ["a-draft", "a-live"]  # rolled back


async def test_a_role_widens_the_update_policy(env: ScenarioEnv) -> None:
    await seed(env)
    service = await env.key_headers("default", "service_role")
    made = await env.client.post(
        "/admin/v1/roles",
        headers=service,
        json={"name": "editor", "description": "Edits all posts"},
    )
    assert made.status_code == 201
    assigned = await env.client.put(
        "/admin/v1/users/user-e/roles", headers=service, json={"roles": ["editor"]}
    )
    assert assigned.json() == {"roles": ["editor"]}
    edited = await env.services.data.rows.update(
        user("user-e"), "posts", query("PATCH", "id=eq.b-draft"), {"title": "by editor"}, False
    )
    assert [r["id"] for r in edited.rows] == ["b-draft"]


async def test_null_policy_is_service_only(env: ScenarioEnv) -> None:
    await seed(env)
    with pytest.raises(RestError) as refused:
        await env.services.data.rows.delete(
            user("user-a"), "posts", query("DELETE", "id=eq.a-draft"), False
        )
    assert refused.value.status == 403
    service = await env.key_headers("default", "service_role")
    deleted = await env.client.delete("/rest/v1/posts?id=eq.a-draft", headers=service)
    assert deleted.status_code == 204


async def test_grants_are_permissions_of_roles(env: ScenarioEnv) -> None:
    await seed(env)
    service = await env.key_headers("default", "service_role")
    anon = (await env.client.get("/admin/v1/roles/anon", headers=service)).json()
    assert anon["permissions"] == ["rest:posts:select"]
    # Revoking the grant closes the collection to anon, whatever the policy says.
    await env.client.patch("/admin/v1/roles/anon", headers=service, json={"permissions": []})
    closed = await env.client.get(
        "/rest/v1/posts", headers=await env.key_headers("default", "anon")
    )
    assert closed.status_code == 401
    # A wildcard grant opens every collection's reads.
    await env.client.patch(
        "/admin/v1/roles/anon", headers=service, json={"permissions": ["rest:*:select"]}
    )
    opened = await env.client.get(
        "/rest/v1/posts", headers=await env.key_headers("default", "anon")
    )
    assert opened.status_code == 200


async def test_renaming_and_dropping_carry_the_grants(env: ScenarioEnv) -> None:
    await seed(env)
    service = await env.key_headers("default", "service_role")
    await env.client.patch(
        "/admin/v1/collections/posts", headers=service, json={"name": "articles"}
    )
    anon = (await env.client.get("/admin/v1/roles/anon", headers=service)).json()
    assert anon["permissions"] == ["rest:articles:select"]
    await env.client.delete("/admin/v1/collections/articles?confirm=true", headers=service)
    anon = (await env.client.get("/admin/v1/roles/anon", headers=service)).json()
    assert anon["permissions"] == []


async def test_policies_are_validated_when_saved(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    bad = {**POSTS, "policies": {"select": "titel = 'x'", "update": "owner = = 1"}}
    response = await env.client.post("/admin/v1/collections", headers=service, json=bad)
    assert response.status_code == 400
    problems = response.json()["error"]["details"]["policies"]
    assert "titel" in problems["select"][0]
    assert problems["update"]
    unknown_role = {**POSTS, "grants": {"nobody": ["select"]}}
    response = await env.client.post("/admin/v1/collections", headers=service, json=unknown_role)
    assert response.json()["error"]["details"]["unknown_roles"] == ["nobody"]
    listed = await env.client.get("/admin/v1/collections", headers=service)
    assert listed.json() == []


ROLE_CASES = scenarios(
    ApiScenario(
        "built-in roles are listed",
        "GET",
        "/admin/v1/roles",
        auth=as_service(),
        expected_len=3,
        expected_content=('"name":"anon"', '"builtin":true'),
    ),
    ApiScenario(
        "a role is created",
        "POST",
        "/admin/v1/roles",
        auth=as_service(),
        json={"name": "editor", "permissions": ["rest:posts:update", "rest:*:select"]},
        expected_status=201,
        expected_content=('"rest:*:select"',),
    ),
    ApiScenario(
        "a malformed permission",
        "POST",
        "/admin/v1/roles",
        auth=as_service(),
        json={"name": "x", "permissions": ["not a permission"]},
        expected_status=422,
    ),
    ApiScenario(
        "a built-in role cannot be deleted",
        "DELETE",
        "/admin/v1/roles/anon",
        auth=as_service(),
        expected_status=409,
    ),
    ApiScenario(
        "roles need the service key", "GET", "/admin/v1/roles", auth=as_anon(), expected_status=403
    ),
    ApiScenario(
        "unknown role for a user",
        "PUT",
        "/admin/v1/users/u1/roles",
        auth=as_service(),
        json={"roles": ["ghost"]},
        expected_status=404,
    ),
)


@pytest.mark.parametrize("case", ROLE_CASES)
async def test_roles_api(case: ApiScenario, env: ScenarioEnv) -> None:
    await case.run(env)


async def test_upserts_by_users_obey_both_policies(env: ScenarioEnv) -> None:
    await seed(env)
    rows = env.services.data.rows
    merge = query("POST", prefer="resolution=merge-duplicates,return=representation")
    mine = await rows.insert(
        user("user-a"),
        "posts",
        merge,
        [
            {"id": "a-draft", "title": "merged", "owner": "user-a"},
            {"id": "a-new", "title": "new", "owner": "user-a"},
        ],
        False,
    )
    assert sorted(r["title"] for r in mine.rows) == ["merged", "new"]
    assert mine.inserted == 1
    with pytest.raises(RestError) as theirs:  # overwriting B's row: outside A's update policy
        await rows.insert(
            user("user-a"),
            "posts",
            merge,
            {"id": "b-draft", "title": "stolen", "owner": "user-a"},
            False,
        )
    assert theirs.value.status == 403
    with pytest.raises(RestError) as forged:  # a new row for someone else: insert policy
        await rows.insert(
            user("user-a"),
            "posts",
            merge,
            {"id": "x-new", "title": "forged", "owner": "user-b"},
            False,
        )
    assert forged.value.status == 403
    ignore = query("POST", prefer="resolution=ignore-duplicates,return=representation")
    skipped = await rows.insert(
        user("user-a"),
        "posts",
        ignore,
        {"id": "b-draft", "title": "ignored", "owner": "user-a"},
        False,
    )
    assert skipped.rows == []
    service = await env.key_headers("default", "service_role")
    b_draft = await env.client.get("/rest/v1/posts?id=eq.b-draft", headers=service)
    assert b_draft.json()[0]["title"] == "B draft"


async def test_rules_read_the_principals_claims_and_aal(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    created = await env.client.post(
        "/admin/v1/collections",
        headers=service,
        json={
            "name": "docs",
            "fields": [{"name": "org", "type": "text"}],
            "policies": {"select": 'org = @auth.claims.org_id && @auth.aal = "aal2"'},
            "grants": {"authenticated": ["select"]},
        },
    )
    assert created.status_code == 201, created.text
    await env.client.post(
        "/rest/v1/docs",
        headers=service,
        json=[{"id": "d1", "org": "acme"}, {"id": "d2", "org": "other"}],
    )

    def member(aal: str) -> RequestContext:
        principal = Principal(
            Role.AUTHENTICATED, subject="u1", key_verified=True, aal=aal, claims={"org_id": "acme"}
        )
        return RequestContext("default", principal)

    strong = await env.services.data.rows.select(member("aal2"), "docs", query("GET"))
    assert [r["id"] for r in strong.rows] == ["d1"]
    weak = await env.services.data.rows.select(member("aal1"), "docs", query("GET"))
    assert weak.rows == []
