"""/admin/v1/collections: real tables, migrations, history, confirmation, rollback."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from apprun.core.ids import new_id
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
Headers = dict[str, str]

POSTS: dict[str, Any] = {
    "name": "posts",
    "fields": [
        {"name": "title", "type": "text", "required": True, "max_length": 200},
        {"name": "body", "type": "text"},
        {"name": "views", "type": "integer", "default": 0, "min": 0},
        {"name": "published", "type": "boolean", "default": False},
        {"name": "tags", "type": "json"},
        {"name": "status", "type": "select", "values": ["draft", "live"]},
    ],
    "indexes": [{"fields": ["published", "views"]}],
}


async def create_posts(env: ScenarioEnv) -> None:
    headers = await env.key_headers("default", "service_role")
    response = await env.client.post("/admin/v1/collections", headers=headers, json=POSTS)
    assert response.status_code == 201, response.text


def posts_with(**changes: Any) -> dict[str, Any]:
    if "fields" in changes:  # the default indexes name the default fields
        changes = {"indexes": [], **changes}
    return {**POSTS, **changes}


CASES = scenarios(
    ApiScenario(
        "create without a key",
        "POST",
        "/admin/v1/collections",
        auth=no_auth(),
        json=POSTS,
        expected_status=401,
    ),
    ApiScenario(
        "create with the anon key",
        "POST",
        "/admin/v1/collections",
        auth=as_anon(),
        json=POSTS,
        expected_status=403,
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "create with the service key",
        "POST",
        "/admin/v1/collections",
        auth=as_service(),
        json=POSTS,
        expected_status=201,
        expected_content=('"name":"posts"', '"version":1'),
        expected_hooks={"data.collection.created": 1},
    ),
    ApiScenario(
        "create as admin",
        "POST",
        "/admin/v1/collections",
        auth=as_admin(),
        json=POSTS,
        expected_status=201,
    ),
    ApiScenario(
        "dry run returns the plan",
        "POST",
        "/admin/v1/collections?dry_run=true",
        auth=as_service(),
        json=POSTS,
        expected_status=200,
        expected_content=(
            "CREATE TABLE posts",
            "CREATE INDEX ix_posts_published_views",
            '"applied":false',
        ),
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "reserved name",
        "POST",
        "/admin/v1/collections",
        auth=as_service(),
        json=posts_with(name="project_settings"),
        expected_status=422,
        expected_content=("reserved",),
    ),
    ApiScenario(
        "system field redefined",
        "POST",
        "/admin/v1/collections",
        auth=as_service(),
        json=posts_with(fields=[{"name": "id", "type": "text"}]),
        expected_status=422,
        expected_content=("system field",),
    ),
    ApiScenario(
        "varchar without max_length",
        "POST",
        "/admin/v1/collections",
        auth=as_service(),
        json=posts_with(fields=[{"name": "a", "type": "varchar"}]),
        expected_status=422,
        expected_content=("max_length",),
    ),
    ApiScenario(
        "select without values",
        "POST",
        "/admin/v1/collections",
        auth=as_service(),
        json=posts_with(fields=[{"name": "a", "type": "select"}]),
        expected_status=422,
    ),
    ApiScenario(
        "unknown field type",
        "POST",
        "/admin/v1/collections",
        auth=as_service(),
        json=posts_with(fields=[{"name": "a", "type": "blob"}]),
        expected_status=422,
        expected_content=('"field":"fields.0.type"',),
    ),
    ApiScenario(
        "index on an unknown field",
        "POST",
        "/admin/v1/collections",
        auth=as_service(),
        json=posts_with(indexes=[{"fields": ["nope"]}]),
        expected_status=422,
        expected_content=("unknown fields: nope",),
    ),
    ApiScenario(
        "relation to an unknown collection",
        "POST",
        "/admin/v1/collections",
        auth=as_service(),
        json=posts_with(fields=[{"name": "c", "type": "relation", "collection": "nope"}]),
        expected_status=400,
        expected_content=("no collection is named 'nope'",),
    ),
    ApiScenario(
        "a name that exists",
        "POST",
        "/admin/v1/collections",
        auth=as_service(),
        json=POSTS,
        setup=create_posts,
        expected_status=409,
        expected_content=('"data.collection_exists"',),
    ),
    ApiScenario(
        "list",
        "GET",
        "/admin/v1/collections",
        auth=as_service(),
        setup=create_posts,
        expected_len=1,
    ),
    ApiScenario(
        "get a missing one",
        "GET",
        "/admin/v1/collections/nope",
        auth=as_service(),
        expected_status=404,
        expected_content=('"data.collection_not_found"',),
    ),
    ApiScenario(
        "drop without confirm",
        "DELETE",
        "/admin/v1/collections/posts",
        auth=as_service(),
        setup=create_posts,
        expected_status=400,
        expected_content=('"data.confirmation_required"', "drop table posts"),
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "drop dry run",
        "DELETE",
        "/admin/v1/collections/posts?dry_run=true",
        auth=as_service(),
        setup=create_posts,
        expected_status=200,
        expected_content=("DROP TABLE posts",),
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "drop with confirm",
        "DELETE",
        "/admin/v1/collections/posts?confirm=true",
        auth=as_service(),
        setup=create_posts,
        expected_status=204,
        expected_hooks={"data.collection.deleted": 1},
    ),
)


@pytest.mark.parametrize("case", CASES)
async def test_collections_api(case: ApiScenario, env: ScenarioEnv) -> None:
    await case.run(env)


async def insert_raw(env: ScenarioEnv, table: str, **values: Any) -> None:
    db = env.services.tenancy.project_db(await env.services.platform.placement("default"))
    now = env.services.clock.now()
    row = {"id": new_id(), "created_at": now, "updated_at": now, **values}
    # A Table (not a lightweight table()) so that PostgreSQL's schema translation applies.
    target = sa.Table(table, sa.MetaData(), *[sa.Column(k) for k in row])
    async with db.tx() as conn:
        await conn.execute(sa.insert(target).values(**row))


async def column_names(env: ScenarioEnv, table: str) -> list[str]:
    db = env.services.tenancy.project_db(await env.services.platform.placement("default"))
    async with db.read() as conn:
        names: list[str] = await conn.run_sync(
            lambda sync: [c["name"] for c in sa.inspect(sync).get_columns(table, db.schema)]
        )
    return names


async def test_the_table_enforces_the_constraints(env: ScenarioEnv) -> None:
    await create_posts(env)
    await insert_raw(env, "posts", title="ok")
    for bad in (
        {"title": None},
        {"title": "x", "views": -1},
        {"title": "x", "status": "gone"},
        {"title": "x" * 201},
    ):
        with pytest.raises(sa.exc.IntegrityError):
            await insert_raw(env, "posts", **bad)


async def test_add_rename_and_drop_fields(env: ScenarioEnv, as_admin: Headers) -> None:
    await create_posts(env)
    await insert_raw(env, "posts", title="kept")
    service = await env.key_headers("default", "service_role")
    fields = [dict(f) for f in POSTS["fields"]]
    fields[0] = {**fields[0], "name": "headline", "renamed_from": "title"}
    fields = [f for f in fields if f["name"] != "tags"] + [{"name": "summary", "type": "text"}]

    refused = await env.client.patch(
        "/admin/v1/collections/posts", headers=service, json={"fields": fields}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["drops"] == ["drop field tags and its values"]

    plan = await env.client.patch(
        "/admin/v1/collections/posts?dry_run=true", headers=service, json={"fields": fields}
    )
    assert plan.status_code == 200
    assert any("RENAME" in s and "headline" in s for s in plan.json()["ddl"])

    changed = await env.client.patch(
        "/admin/v1/collections/posts", headers=service, json={"fields": fields, "confirm": True}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    columns = await column_names(env, "posts")
    assert "headline" in columns and "summary" in columns
    assert "title" not in columns and "tags" not in columns
    db = env.services.tenancy.project_db(await env.services.platform.placement("default"))
    async with db.read() as conn:
        posts = sa.Table("posts", sa.MetaData(), sa.Column("headline"))
        kept = (await conn.execute(sa.select(posts.c.headline))).scalar_one()
    assert kept == "kept"

    history = (
        await env.client.get("/admin/v1/migrations?collection=posts", headers=as_admin)
    ).json()
    assert [m["action"] for m in history] == ["alter", "create"]
    assert history[0]["actor"] == "service_role"
    assert "rename field title to headline" in history[0]["summary"]


async def test_a_failing_migration_changes_nothing(env: ScenarioEnv) -> None:
    await create_posts(env)
    await insert_raw(env, "posts", title="same")
    await insert_raw(env, "posts", title="same")
    service = await env.key_headers("default", "service_role")
    fields = [*POSTS["fields"], {"name": "extra", "type": "text"}]
    fields[0] = {**fields[0], "unique": True}  # the duplicates make the unique index fail
    response = await env.client.patch(
        "/admin/v1/collections/posts", headers=service, json={"fields": fields}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "data.migration_failed"
    assert "extra" not in await column_names(env, "posts")
    collection = (await env.client.get("/admin/v1/collections/posts", headers=service)).json()
    assert collection["version"] == 1
    history = (await env.client.get("/admin/v1/migrations", headers=service)).json()
    assert [m["action"] for m in history] == ["create"]


async def test_changes_that_need_a_rebuild_are_refused_clearly(env: ScenarioEnv) -> None:
    await create_posts(env)
    service = await env.key_headers("default", "service_role")
    fields = [dict(f) for f in POSTS["fields"]]
    fields[5] = {**fields[5], "type": "date", "values": None}  # select → date
    response = await env.client.patch(
        "/admin/v1/collections/posts", headers=service, json={"fields": fields}
    )
    assert response.status_code == 400
    assert "cannot change from select to date" in response.json()["error"]["message"]


async def test_rename_a_collection_keeps_its_rows(env: ScenarioEnv) -> None:
    await create_posts(env)
    await insert_raw(env, "posts", title="one")
    service = await env.key_headers("default", "service_role")
    renamed = await env.client.patch(
        "/admin/v1/collections/posts", headers=service, json={"name": "articles"}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "articles"
    db = env.services.tenancy.project_db(await env.services.platform.placement("default"))
    async with db.read() as conn:
        articles = sa.Table("articles", sa.MetaData(), sa.Column("id"))
        count = sa.select(sa.func.count()).select_from(articles)
        assert (await conn.execute(count)).scalar_one() == 1
    assert (await env.client.get("/admin/v1/collections/posts", headers=service)).status_code == 404


async def test_relations_and_drop_order(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    categories = {"name": "categories", "fields": [{"name": "label", "type": "text"}]}
    assert (
        await env.client.post("/admin/v1/collections", headers=service, json=categories)
    ).status_code == 201
    posts = posts_with(
        fields=[
            *POSTS["fields"],
            {
                "name": "category",
                "type": "relation",
                "collection": "categories",
                "on_delete": "cascade",
            },
        ]
    )
    assert (
        await env.client.post("/admin/v1/collections", headers=service, json=posts)
    ).status_code == 201
    in_use = await env.client.delete(
        "/admin/v1/collections/categories?confirm=true", headers=service
    )
    assert in_use.status_code == 409
    assert in_use.json()["error"]["details"]["used_by"] == ["posts"]
    await insert_raw(env, "categories", id="c1", label="news")
    await insert_raw(env, "posts", title="t", category="c1")
    with pytest.raises(sa.exc.IntegrityError):
        await insert_raw(env, "posts", title="t", category="missing")


async def test_collections_are_per_project(env: ScenarioEnv, as_admin: Headers) -> None:
    await create_posts(env)
    await env.client.post(
        "/admin/v1/projects", headers=as_admin, json={"id": "other", "name": "Other"}
    )
    other = await env.key_headers("other", "service_role")
    assert (await env.client.get("/admin/v1/collections", headers=other)).json() == []
    by_admin = await env.client.get(
        "/admin/v1/collections", headers={**as_admin, "X-Apprun-Project": "other"}
    )
    assert by_admin.json() == []


async def test_relation_fields_are_indexed(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    await env.client.post(
        "/admin/v1/collections", headers=service, json={"name": "categories", "fields": []}
    )
    plan = await env.client.post(
        "/admin/v1/collections?dry_run=true",
        headers=service,
        json={
            "name": "posts",
            "fields": [
                {"name": "category", "type": "relation", "collection": "categories"},
                {"name": "other", "type": "relation", "collection": "categories"},
            ],
            "indexes": [{"fields": ["other", "category"]}],
        },
    )
    ddl = "\n".join(plan.json()["ddl"])
    assert "CREATE INDEX ix_posts_category ON posts (category)" in ddl
    assert "ix_posts_other ON" not in ddl  # the composite index already leads with it
