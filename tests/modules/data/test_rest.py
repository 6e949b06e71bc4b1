"""/rest/v1/{collection}: the PostgREST grammar on real tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from apprun.core.clock import ManualClock
from apprun.testing import ApiScenario, ScenarioEnv, as_anon, as_service, no_auth, scenarios

pytestmark = pytest.mark.anyio
Headers = dict[str, str]

POSTS: dict[str, Any] = {
    "name": "posts",
    "fields": [
        {"name": "title", "type": "text", "required": True, "max_length": 200},
        {"name": "views", "type": "integer", "default": 0, "min": 0},
        {"name": "score", "type": "float"},
        {"name": "published", "type": "boolean", "default": False},
        {"name": "tags", "type": "json"},
        {"name": "status", "type": "select", "values": ["draft", "live"]},
        {"name": "slug", "type": "text", "unique": True},
        {"name": "contact", "type": "email"},
    ],
}
ROWS: list[dict[str, Any]] = [
    {
        "id": "p1",
        "title": "Alpha",
        "views": 10,
        "score": 1.5,
        "published": True,
        "tags": ["news", "tech"],
        "status": "live",
        "slug": "alpha",
    },
    {
        "id": "p2",
        "title": "beta",
        "views": 600,
        "score": None,
        "published": False,
        "tags": ["tech"],
        "status": "draft",
        "slug": "beta",
    },
    {
        "id": "p3",
        "title": "Gamma (2)",
        "views": 0,
        "score": 3.0,
        "published": True,
        "tags": [],
        "status": None,
        "slug": "gamma",
    },
]


async def seed(env: ScenarioEnv) -> None:
    headers = await env.key_headers("default", "service_role")
    created = await env.client.post("/admin/v1/collections", headers=headers, json=POSTS)
    assert created.status_code == 201, created.text
    columns = ",".join(f'"{k}"' for k in ROWS[0])
    inserted = await env.client.post(
        f"/rest/v1/posts?columns={columns}", headers=headers, json=ROWS
    )
    assert inserted.status_code == 201, inserted.text


def ids(response: httpx.Response) -> list[str]:
    return [row["id"] for row in response.json()]


READS = [
    ("", ["p1", "p2", "p3"]),
    ("views=eq.10", ["p1"]),
    ("views=neq.10", ["p2", "p3"]),
    ("views=gt.10", ["p2"]),
    ("views=gte.10", ["p1", "p2"]),
    ("views=lt.10", ["p3"]),
    ("views=lte.10", ["p1", "p3"]),
    ("title=like.*a", ["p1", "p2"]),
    ("title=like.A*", ["p1"]),
    ("title=ilike.a*", ["p1"]),
    ("title=ilike.*A*", ["p1", "p2", "p3"]),
    ("title=match.^G", ["p3"]),
    ("title=imatch.^g", ["p3"]),
    ("id=in.(p1,p3)", ["p1", "p3"]),
    ('title=in.("Gamma (2)",Alpha)', ["p1", "p3"]),
    ("id=in.()", []),
    ("score=is.null", ["p2"]),
    ("score=not.is.null", ["p1", "p3"]),
    ("published=is.true", ["p1", "p3"]),
    ("published=is.false", ["p2"]),
    ("status=isdistinct.live", ["p2", "p3"]),
    ("tags=cs.{tech}", ["p1", "p2"]),
    ("tags=cs.{news,tech}", ["p1"]),
    ('tags=cs.["news"]', ["p1"]),
    ("tags=cd.{tech,news}", ["p1", "p2", "p3"]),
    ("tags=ov.{news,other}", ["p1"]),
    ("views=not.eq.10", ["p2", "p3"]),
    ("or=(views.eq.10,views.eq.0)", ["p1", "p3"]),
    ("and=(published.is.true,views.gt.5)", ["p1"]),
    ("or=(views.gt.100,and(published.is.true,views.lt.5))", ["p2", "p3"]),
    ("not.or=(views.eq.10,views.eq.0)", ["p2"]),
    ("title=like(any).{A*,b*}", ["p1", "p2"]),
    ("views=gt(all).{5,9}", ["p1", "p2"]),
    ("views=gt.5&published=is.true", ["p1"]),
    ("order=views.desc", ["p2", "p1", "p3"]),
    ("order=score.desc", ["p2", "p3", "p1"]),
    ("order=score.desc.nullslast", ["p3", "p1", "p2"]),
    ("order=score.asc", ["p1", "p3", "p2"]),
    ("order=published.desc,views.asc", ["p3", "p1", "p2"]),
    ("order=views&limit=2", ["p3", "p1"]),
    ("order=views&limit=2&offset=1", ["p1", "p2"]),
    ("order=views&offset=5", []),
    ("limit=0", []),
]


@pytest.mark.parametrize(("query", "expected"), READS, ids=[q or "all" for q, _ in READS])
async def test_filters_and_order(env: ScenarioEnv, query: str, expected: list[str]) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    response = await env.client.get(f"/rest/v1/posts?{query}", headers=headers)
    assert response.status_code == 200, response.text
    got = ids(response)
    assert got == expected if "order" in query else sorted(got) == sorted(expected)


async def test_select_columns_and_aliases(env: ScenarioEnv) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    response = await env.client.get(
        "/rest/v1/posts?select=id,heading:title&id=eq.p1", headers=headers
    )
    assert response.json() == [{"id": "p1", "heading": "Alpha"}]


async def test_values_come_back_typed(env: ScenarioEnv) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    row = (await env.client.get("/rest/v1/posts?id=eq.p1", headers=headers)).json()[0]
    assert row["views"] == 10
    assert row["score"] == 1.5
    assert row["published"] is True
    assert row["tags"] == ["news", "tech"]
    assert row["created_at"].endswith("+00:00")


async def test_counting_and_ranges(env: ScenarioEnv) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    plain = await env.client.get("/rest/v1/posts?limit=2", headers=headers)
    assert plain.headers["content-range"] == "0-1/*"
    counted = await env.client.get(
        "/rest/v1/posts?limit=2&order=views", headers={**headers, "Prefer": "count=exact"}
    )
    assert counted.status_code == 206
    assert counted.headers["content-range"] == "0-1/3"
    everything = await env.client.get(
        "/rest/v1/posts", headers={**headers, "Prefer": "count=exact"}
    )
    assert everything.status_code == 200
    assert everything.headers["content-range"] == "0-2/3"
    by_header = await env.client.get(
        "/rest/v1/posts?order=views", headers={**headers, "Range": "1-1"}
    )
    assert ids(by_header) == ["p1"]
    beyond = await env.client.get(
        "/rest/v1/posts?offset=10", headers={**headers, "Prefer": "count=exact"}
    )
    assert beyond.status_code == 416
    assert beyond.json()["code"] == "PGRST103"
    head = await env.client.head("/rest/v1/posts", headers={**headers, "Prefer": "count=exact"})
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-range"] == "0-2/3"


async def test_max_rows_caps_a_read(database: Any) -> None:
    from apprun.app import create_app

    app = create_app(database.settings(data={"max_rows": 2}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            env = ScenarioEnv(client, app.state.services)
            await seed(env)
            headers = await env.key_headers("default", "service_role")
            capped = await client.get("/rest/v1/posts?limit=100", headers=headers)
    assert len(capped.json()) == 2


async def test_single_object_and_csv(env: ScenarioEnv) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    single = {**headers, "Accept": "application/vnd.pgrst.object+json"}
    one = await env.client.get("/rest/v1/posts?id=eq.p1", headers=single)
    assert one.status_code == 200
    assert one.json()["title"] == "Alpha"
    assert one.headers["content-type"].startswith("application/vnd.pgrst.object+json")
    many = await env.client.get("/rest/v1/posts", headers=single)
    assert many.status_code == 406
    assert many.json()["code"] == "PGRST116"
    assert many.json()["details"] == "The result contains 3 rows"
    csv = await env.client.get(
        "/rest/v1/posts?select=id,title&order=id", headers={**headers, "Accept": "text/csv"}
    )
    assert csv.text == "id,title\np1,Alpha\np2,beta\np3,Gamma (2)"
    refused = await env.client.get("/rest/v1/posts", headers={**headers, "Accept": "image/png"})
    assert refused.status_code == 406
    assert refused.json()["code"] == "PGRST107"


ERRORS = scenarios(
    ApiScenario(
        "unknown collection",
        "GET",
        "/rest/v1/nope",
        auth=as_service(),
        expected_status=404,
        expected_content=('"code":"PGRST205"',),
    ),
    ApiScenario(
        "unknown column in a filter",
        "GET",
        "/rest/v1/posts?nope=eq.1",
        auth=as_service(),
        setup=seed,
        expected_status=400,
        expected_content=('"code":"42703"',),
    ),
    ApiScenario(
        "bad literal",
        "GET",
        "/rest/v1/posts?views=eq.ten",
        auth=as_service(),
        setup=seed,
        expected_status=400,
        expected_content=('"code":"22P02"',),
    ),
    ApiScenario(
        "malformed filter",
        "GET",
        "/rest/v1/posts?views=zz.1",
        auth=as_service(),
        setup=seed,
        expected_status=400,
        expected_content=('"code":"PGRST100"',),
    ),
    ApiScenario(
        "bad logic tree",
        "GET",
        "/rest/v1/posts?or=()",
        auth=as_service(),
        setup=seed,
        expected_status=400,
        expected_content=('"code":"PGRST100"',),
    ),
    ApiScenario(
        "embedding an unrelated collection",
        "GET",
        "/rest/v1/posts?select=*,other(*)",
        auth=as_service(),
        setup=seed,
        expected_status=400,
        expected_content=('"code":"PGRST200"',),
    ),
    ApiScenario(
        "no key",
        "GET",
        "/rest/v1/posts",
        auth=no_auth(),
        setup=seed,
        expected_status=401,
        expected_content=('"code":"42501"',),
    ),
    ApiScenario(
        "anon key has no grant yet",
        "GET",
        "/rest/v1/posts",
        auth=as_anon(),
        setup=seed,
        expected_status=401,
        expected_content=('"code":"42501"',),
        not_expected_content=("Alpha",),
    ),
    ApiScenario(
        "anon key cannot insert",
        "POST",
        "/rest/v1/posts",
        auth=as_anon(),
        json={"title": "x"},
        setup=seed,
        expected_status=401,
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "negative limit",
        "GET",
        "/rest/v1/posts?limit=-1",
        auth=as_service(),
        setup=seed,
        expected_status=416,
        expected_content=('"code":"PGRST103"',),
    ),
)


@pytest.mark.parametrize("case", ERRORS)
async def test_rest_errors(case: ApiScenario, env: ScenarioEnv) -> None:
    response = await case.run(env)
    assert set(response.json()) == {"code", "message", "details", "hint"}


async def test_insert_modes(env: ScenarioEnv) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    minimal = await env.client.post("/rest/v1/posts", headers=headers, json={"title": "m"})
    assert minimal.status_code == 201
    assert minimal.content == b""
    represented = await env.client.post(
        "/rest/v1/posts",
        headers={**headers, "Prefer": "return=representation"},
        json={"title": "r", "id": "chosen-id"},
    )
    assert represented.status_code == 201
    row = represented.json()[0]
    assert row["id"] == "chosen-id"
    assert row["views"] == 0  # the field's default
    assert represented.headers["preference-applied"] == "return=representation"
    located = await env.client.post(
        "/rest/v1/posts",
        headers={**headers, "Prefer": "return=headers-only"},
        json={"title": "h", "id": "h1"},
    )
    assert located.headers["location"] == "/posts?id=eq.h1"
    empty = await env.client.post("/rest/v1/posts", headers=headers, json=[])
    assert empty.status_code == 201


async def test_bulk_insert_is_one_transaction(env: ScenarioEnv) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    response = await env.client.post(
        "/rest/v1/posts",
        headers=headers,
        json=[{"title": "ok", "slug": "new"}, {"title": "dup", "slug": "alpha"}],
    )
    assert response.status_code == 409
    assert response.json()["code"] == "23505"
    titles = {r["title"] for r in (await env.client.get("/rest/v1/posts", headers=headers)).json()}
    assert "ok" not in titles


WRITE_ERRORS = [
    ({"views": 1}, 400, "23502"),
    ({"title": "x", "views": -1}, 400, "23514"),
    ({"title": "x", "status": "gone"}, 400, "23514"),
    ({"title": "x", "views": "many"}, 400, "22P02"),
    ({"title": "x", "views": True}, 400, "22P02"),
    ({"title": "x", "contact": "not-an-email"}, 400, "23514"),
    ({"title": "x", "nope": 1}, 400, "PGRST204"),
    ({"title": "x", "created_at": "2020-01-01T00:00:00Z"}, 400, "PGRST204"),
    ({"title": "x", "slug": "alpha"}, 409, "23505"),
]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    WRITE_ERRORS,
    ids=[code + "-" + ",".join(b) for b, _, code in WRITE_ERRORS],
)
async def test_write_errors(env: ScenarioEnv, body: dict[str, Any], status: int, code: str) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    response = await env.client.post("/rest/v1/posts", headers=headers, json=body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    count = await env.client.get("/rest/v1/posts", headers={**headers, "Prefer": "count=exact"})
    assert count.headers["content-range"].endswith("/3")


async def test_invalid_bodies(env: ScenarioEnv) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    for body in (b"{not json", b'"text"', b"[1, 2]"):
        response = await env.client.post("/rest/v1/posts", headers=headers, content=body)
        assert response.status_code == 400
        assert response.json()["code"] == "PGRST102"
    mismatched = await env.client.post(
        "/rest/v1/posts", headers=headers, json=[{"title": "a"}, {"title": "b", "views": 1}]
    )
    assert mismatched.json()["message"] == "All object keys must match"


async def test_upsert(env: ScenarioEnv) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    merge = {**headers, "Prefer": "resolution=merge-duplicates,return=representation"}
    updated = await env.client.post(
        "/rest/v1/posts", headers=merge, json={"id": "p1", "title": "Alpha 2"}
    )
    assert updated.status_code == 200  # merged, nothing new
    assert updated.json()[0]["title"] == "Alpha 2"
    assert updated.json()[0]["views"] == 10
    created = await env.client.post(
        "/rest/v1/posts", headers=merge, json={"id": "p9", "title": "New"}
    )
    assert created.status_code == 201
    ignore = {**headers, "Prefer": "resolution=ignore-duplicates,return=representation"}
    ignored = await env.client.post(
        "/rest/v1/posts?on_conflict=slug", headers=ignore, json={"title": "Other", "slug": "beta"}
    )
    assert ignored.json() == []
    row = (await env.client.get("/rest/v1/posts?slug=eq.beta", headers=headers)).json()[0]
    assert row["title"] == "beta"


async def test_update_and_delete(env: ScenarioEnv, clock: ManualClock) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    clock.advance(5)
    rep = {**headers, "Prefer": "return=representation"}
    updated = await env.client.patch(
        "/rest/v1/posts?published=is.true", headers=rep, json={"views": 42}
    )
    assert updated.status_code == 200
    assert sorted(ids(updated)) == ["p1", "p3"]
    assert {r["views"] for r in updated.json()} == {42}
    assert updated.json()[0]["updated_at"] > updated.json()[0]["created_at"]
    none = await env.client.patch(
        "/rest/v1/posts?id=eq.missing", headers=headers, json={"views": 1}
    )
    assert none.status_code == 204
    unfiltered = await env.client.patch("/rest/v1/posts", headers=headers, json={"views": 1})
    assert unfiltered.status_code == 400
    deleted = await env.client.delete("/rest/v1/posts?id=eq.p2", headers=rep)
    assert ids(deleted) == ["p2"]
    assert (await env.client.delete("/rest/v1/posts", headers=headers)).status_code == 400
    left = await env.client.get("/rest/v1/posts", headers=headers)
    assert sorted(ids(left)) == ["p1", "p3"]


async def test_singular_writes_roll_back(env: ScenarioEnv) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    single = {**headers, "Accept": "application/vnd.pgrst.object+json"}
    two = await env.client.delete("/rest/v1/posts?published=is.true", headers=single)
    assert two.status_code == 406
    left = await env.client.get("/rest/v1/posts", headers=headers)
    assert len(left.json()) == 3  # nothing was deleted
    one = await env.client.patch("/rest/v1/posts?id=eq.p1", headers=single, json={"views": 5})
    assert one.status_code == 200
    assert one.json()["views"] == 5


async def test_writes_emit_hooks_after_commit(env: ScenarioEnv) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    seen: list[Any] = []
    env.services.hooks.subscribe("data.row.*", seen.append)
    await env.client.post("/rest/v1/posts", headers=headers, json={"title": "x", "id": "x1"})
    await env.client.patch("/rest/v1/posts?id=eq.x1", headers=headers, json={"views": 3})
    await env.client.delete("/rest/v1/posts?id=eq.x1", headers=headers)
    await env.client.post("/rest/v1/posts", headers=headers, json={"views": 1})  # fails
    assert [h.name for h in seen] == ["data.row.inserted", "data.row.updated", "data.row.deleted"]
    updated = seen[1].payload
    assert updated.collection == "posts"
    assert updated.old["views"] == 0
    assert updated.new["views"] == 3
    assert seen[2].payload.new is None


async def test_rest_is_per_project(env: ScenarioEnv, as_admin: Headers) -> None:
    await seed(env)
    await env.client.post(
        "/admin/v1/projects", headers=as_admin, json={"id": "other", "name": "Other"}
    )
    other = await env.key_headers("other", "service_role")
    response = await env.client.get("/rest/v1/posts", headers=other)
    assert response.status_code == 404


async def test_openapi_of_the_collections(env: ScenarioEnv) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    response = await env.client.get("/rest/v1/", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openapi+json")
    document = response.json()
    validate(document)
    schema = document["components"]["schemas"]["posts"]
    assert schema["properties"]["views"]["type"] == ["integer", "null"]
    assert schema["properties"]["status"]["enum"] == ["draft", "live"]
    assert "title" in schema["required"]
    assert set(document["paths"]["/posts"]) == {"get", "post", "patch", "delete"}
    anon = await env.client.get("/rest/v1/", headers=await env.key_headers("default", "anon"))
    assert anon.status_code == 401


async def test_an_empty_select_returns_empty_objects(env: ScenarioEnv) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    response = await env.client.get("/rest/v1/posts?select=", headers=headers)
    assert response.status_code == 200
    assert response.json() == [{}, {}, {}]


async def test_json_paths(env: ScenarioEnv) -> None:
    headers = await env.key_headers("default", "service_role")
    await env.client.post(
        "/admin/v1/collections",
        headers=headers,
        json={"name": "things", "fields": [{"name": "data", "type": "json"}]},
    )
    rows = [
        {"id": "t1", "data": {"name": "one", "size": 5, "tags": ["a", "b"], "dims": {"w": 2}}},
        {"id": "t2", "data": {"name": "two", "size": 10, "tags": ["c"], "dims": {"w": 7}}},
        {"id": "t3", "data": {"other": True}},
    ]
    assert (await env.client.post("/rest/v1/things", headers=headers, json=rows)).status_code == 201

    async def ids(query: str) -> list[str]:
        response = await env.client.get(f"/rest/v1/things?select=id&{query}", headers=headers)
        assert response.status_code == 200, response.text
        return sorted(row["id"] for row in response.json())

    assert await ids("data->>name=eq.one") == ["t1"]
    assert await ids("data->dims->>w=eq.7") == ["t2"]
    assert await ids("data->size=eq.10") == ["t2"]
    assert await ids('data->name=eq."two"') == ["t2"]
    assert await ids("data->>name=is.null") == ["t3"]
    assert await ids("data->>name=in.(one,two)") == ["t1", "t2"]
    assert await ids("data->>name=like.o*") == ["t1"]
    picked = await env.client.get(
        "/rest/v1/things?select=id,name:data->>name,w:data->dims->w,data->tags->0&id=eq.t1",
        headers=headers,
    )
    assert picked.json() == [{"id": "t1", "name": "one", "w": 2, "tags": "a"}]
    ordered = await env.client.get(
        "/rest/v1/things?select=id&order=data->size.desc.nullslast", headers=headers
    )
    assert [r["id"] for r in ordered.json()] == ["t2", "t1", "t3"]
    bad = await env.client.get("/rest/v1/things?select=id&id->>x=eq.1", headers=headers)
    assert bad.status_code == 400


async def test_max_affected_with_strict_handling(env: ScenarioEnv) -> None:
    await seed(env)
    headers = await env.key_headers("default", "service_role")
    strict = {**headers, "Prefer": "handling=strict, max-affected=1"}
    too_many = await env.client.patch(
        "/rest/v1/posts?published=is.true", headers=strict, json={"views": 1}
    )
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "PGRST124"
    assert too_many.json()["details"] == "The query affects 2 rows"
    one = await env.client.delete("/rest/v1/posts?id=eq.p2", headers=strict)
    assert one.status_code == 204
    left = await env.client.get("/rest/v1/posts?order=id", headers=headers)
    assert [r["views"] for r in left.json()] == [10, 0]  # the refused PATCH changed nothing


async def test_rpc_says_functions_are_not_there_yet(env: ScenarioEnv) -> None:
    headers = await env.key_headers("default", "service_role")
    response = await env.client.post("/rest/v1/rpc/add_numbers", headers=headers, json={})
    assert response.status_code == 404
    assert response.json()["code"] == "PGRST202"
