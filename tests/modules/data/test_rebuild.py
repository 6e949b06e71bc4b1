"""Changes ALTER TABLE cannot make: the table is rebuilt, its rows kept, its constraints and
the foreign keys of other collections intact; a row that does not fit stops everything."""

from __future__ import annotations

from typing import Any

import pytest

from apprun.testing import ScenarioEnv

pytestmark = pytest.mark.anyio

SCHEMA: dict[str, Any] = {"collections": [
    {"name": "categories", "fields": [{"name": "label", "type": "text"},
                                      {"name": "rank", "type": "integer"}]},
    {"name": "posts", "fields": [
        {"name": "title", "type": "text"},
        {"name": "views", "type": "integer"},
        {"name": "code", "type": "text"},
        {"name": "category", "type": "relation", "collection": "categories",
         "on_delete": "cascade"}]},
]}  # fmt: skip


async def seed(env: ScenarioEnv) -> dict[str, str]:
    service = await env.key_headers("default", "service_role")
    assert (
        await env.client.post("/admin/v1/schema/apply", headers=service, json=SCHEMA)
    ).status_code == 200
    await env.client.post(
        "/rest/v1/categories",
        headers=service,
        json=[{"id": "c1", "label": "News", "rank": 1}, {"id": "c2", "label": "Sport", "rank": 2}],
    )
    await env.client.post(
        "/rest/v1/posts",
        headers=service,
        json=[
            {"id": "p1", "title": "a", "views": 5, "code": "12", "category": "c1"},
            {"id": "p2", "title": "bb", "views": 7, "code": "34", "category": "c2"},
        ],
    )
    return service


def fields_of(name: str) -> list[dict[str, Any]]:
    spec = next(c for c in SCHEMA["collections"] if c["name"] == name)
    return [dict(f) for f in spec["fields"]]


async def patch(
    env: ScenarioEnv, headers: dict[str, str], name: str, fields: Any, **query: str
) -> Any:
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return await env.client.patch(
        f"/admin/v1/collections/{name}{suffix}",
        headers=headers,
        json={"fields": fields, "confirm": True},
    )


async def rows(env: ScenarioEnv, headers: dict[str, str], name: str) -> list[dict[str, Any]]:
    response = await env.client.get(f"/rest/v1/{name}?order=id", headers=headers)
    return [
        {k: v for k, v in row.items() if k not in ("created_at", "updated_at")}
        for row in response.json()
    ]


async def test_a_type_change_keeps_the_rows(env: ScenarioEnv) -> None:
    service = await seed(env)
    fields = fields_of("posts")
    fields[1]["type"] = "bigint"
    fields[2]["type"] = "integer"
    planned = await patch(env, service, "posts", fields, dry_run="true")
    assert [s["action"] for s in planned.json()["steps"]][:2] == ["drop_index", "drop_index"]
    assert {"create_table", "copy", "drop_table"} <= {s["action"] for s in planned.json()["steps"]}
    changed = await patch(env, service, "posts", fields)
    assert changed.status_code == 200, changed.text
    assert [(r["views"], r["code"]) for r in await rows(env, service, "posts")] == [
        (5, 12),
        (7, 34),
    ]
    bad = await env.client.post(
        "/rest/v1/posts", headers=service, json={"title": "x", "code": "not a number"}
    )
    assert bad.status_code == 400  # the new type holds


async def test_a_value_that_does_not_convert_stops_the_migration(env: ScenarioEnv) -> None:
    service = await seed(env)
    await env.client.patch("/rest/v1/posts?id=eq.p2", headers=service, json={"code": "x1"})
    fields = fields_of("posts")
    fields[2]["type"] = "integer"
    refused = await patch(env, service, "posts", fields)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "data.migration_failed"
    spec = (await env.client.get("/admin/v1/collections/posts", headers=service)).json()
    assert spec["version"] == 1
    assert [r["code"] for r in await rows(env, service, "posts")] == ["12", "x1"]


async def test_a_new_constraint_must_fit_the_rows(env: ScenarioEnv) -> None:
    service = await seed(env)
    fields = fields_of("posts")
    fields[0].update(max_length=1)
    refused = await patch(env, service, "posts", fields)
    assert refused.status_code == 400  # "bb" is longer than 1
    fields[0].update(max_length=2, required=True)
    accepted = await patch(env, service, "posts", fields)
    assert accepted.status_code == 200, accepted.text
    too_long = await env.client.post("/rest/v1/posts", headers=service, json={"title": "ccc"})
    assert too_long.json()["code"] == "23514"
    missing = await env.client.post("/rest/v1/posts", headers=service, json={"views": 1})
    assert missing.json()["code"] == "23502"


async def test_rebuilding_a_parent_keeps_its_children_and_their_foreign_keys(
    env: ScenarioEnv,
) -> None:
    service = await seed(env)
    fields = fields_of("categories")
    fields[1]["type"] = "bigint"
    fields[0].update(max_length=50)
    changed = await patch(env, service, "categories", fields)
    assert changed.status_code == 200, changed.text
    # The cascade on posts.category did not fire: the posts are all there.
    assert [r["category"] for r in await rows(env, service, "posts")] == ["c1", "c2"]
    orphan = await env.client.post(
        "/rest/v1/posts", headers=service, json={"title": "o", "category": "nope"}
    )
    assert orphan.status_code == 409
    assert orphan.json()["code"] == "23503"
    await env.client.delete("/rest/v1/categories?id=eq.c1", headers=service)
    assert [r["id"] for r in await rows(env, service, "posts")] == ["p2"]  # cascade still on


async def test_dropping_a_relation_field(env: ScenarioEnv) -> None:
    service = await seed(env)
    fields = [f for f in fields_of("posts") if f["name"] != "category"]
    changed = await patch(env, service, "posts", fields)
    assert changed.status_code == 200, changed.text
    assert all("category" not in r for r in await rows(env, service, "posts"))
    dropped = await env.client.delete(
        "/admin/v1/collections/categories?confirm=true", headers=service
    )
    assert dropped.status_code == 204


async def test_narrowing_needs_confirmation_and_never_rounds(env: ScenarioEnv) -> None:
    service = await seed(env)
    fields = fields_of("categories")
    fields[1]["type"] = "float"  # widening: no confirmation needed
    widened = await env.client.patch(
        "/admin/v1/collections/categories", headers=service, json={"fields": fields}
    )
    assert widened.status_code == 200, widened.text
    await env.client.patch("/rest/v1/categories?id=eq.c1", headers=service, json={"rank": 1.5})
    fields[1]["type"] = "integer"
    unconfirmed = await env.client.patch(
        "/admin/v1/collections/categories", headers=service, json={"fields": fields}
    )
    assert unconfirmed.status_code == 400
    assert unconfirmed.json()["error"]["code"] == "data.confirmation_required"
    rounded = await patch(env, service, "categories", fields)
    assert rounded.status_code == 400  # 1.5 would become 1 or 2
    assert [r["rank"] for r in await rows(env, service, "categories")] == [1.5, 2]
    await env.client.patch("/rest/v1/categories?id=eq.c1", headers=service, json={"rank": 1})
    narrowed = await patch(env, service, "categories", fields)
    assert narrowed.status_code == 200, narrowed.text
    assert [r["rank"] for r in await rows(env, service, "categories")] == [1, 2]
