"""Resource embedding: to-one, to-many, nested, aliases, hints, !inner, embedded filters,
orders and limits, and the embedded collection's own grants and policies."""

from __future__ import annotations

from typing import Any

import pytest

from apprun.testing import ScenarioEnv

pytestmark = pytest.mark.anyio

SCHEMA: dict[str, Any] = {"collections": [
    {"name": "categories", "fields": [{"name": "name", "type": "text"}],
     "policies": {"select": ""}},
    {"name": "people", "fields": [{"name": "name", "type": "text"}]},
    {"name": "posts", "fields": [
        {"name": "title", "type": "text"},
        {"name": "published", "type": "boolean", "default": True},
        {"name": "category", "type": "relation", "collection": "categories"},
        {"name": "author", "type": "relation", "collection": "people"},
        {"name": "editor", "type": "relation", "collection": "people"}],
     "policies": {"select": "published = true"}},
    {"name": "comments", "fields": [
        {"name": "body", "type": "text"},
        {"name": "post", "type": "relation", "collection": "posts"}]},
]}  # fmt: skip
DATA: dict[str, list[dict[str, Any]]] = {
    "categories": [{"id": "news", "name": "News"}, {"id": "tech", "name": "Tech"},
                   {"id": "empty", "name": "Empty"}],
    "people": [{"id": "ann", "name": "Ann"}, {"id": "bob", "name": "Bob"}],
    "posts": [
        {"id": "p1", "title": "a", "published": True, "category": "news", "author": "ann",
         "editor": "bob"},
        {"id": "p2", "title": "b", "published": False, "category": "news", "author": "bob",
         "editor": None},
        {"id": "p3", "title": "c", "published": True, "category": "tech", "author": "ann",
         "editor": None},
        {"id": "p4", "title": "d", "published": True, "category": None, "author": None,
         "editor": None},
    ],
    "comments": [{"id": "c1", "body": "first", "post": "p1"},
                 {"id": "c2", "body": "second", "post": "p1"},
                 {"id": "c3", "body": "third", "post": "p3"}],
}  # fmt: skip


async def seed(env: ScenarioEnv) -> dict[str, str]:
    service = await env.key_headers("default", "service_role")
    applied = await env.client.post("/admin/v1/schema/apply", headers=service, json=SCHEMA)
    assert applied.status_code == 200, applied.text
    for name, rows in DATA.items():
        done = await env.client.post(f"/rest/v1/{name}", headers=service, json=rows)
        assert done.status_code == 201, done.text
    return service


async def get(env: ScenarioEnv, headers: dict[str, str], url: str) -> Any:
    response = await env.client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_to_one_by_field_or_collection_name(env: ScenarioEnv) -> None:
    service = await seed(env)
    by_field = await get(env, service, "/rest/v1/posts?select=id,category(name)&order=id")
    assert by_field == [
        {"id": "p1", "category": {"name": "News"}},
        {"id": "p2", "category": {"name": "News"}},
        {"id": "p3", "category": {"name": "Tech"}},
        {"id": "p4", "category": None},
    ]
    by_target = await get(env, service, "/rest/v1/posts?select=id,categories(name)&id=eq.p3")
    assert by_target == [{"id": "p3", "categories": {"name": "Tech"}}]
    aliased = await get(env, service, "/rest/v1/posts?select=id,kind:category(name)&id=eq.p3")
    assert aliased == [{"id": "p3", "kind": {"name": "Tech"}}]


async def test_to_many_nested(env: ScenarioEnv) -> None:
    service = await seed(env)
    rows = await get(
        env,
        service,
        "/rest/v1/categories?select=name,posts(id,comments(body))"
        "&order=name&posts.order=id&posts.comments.order=body",
    )
    assert rows == [
        {"name": "Empty", "posts": []},
        {
            "name": "News",
            "posts": [
                {"id": "p1", "comments": [{"body": "first"}, {"body": "second"}]},
                {"id": "p2", "comments": []},
            ],
        },
        {"name": "Tech", "posts": [{"id": "p3", "comments": [{"body": "third"}]}]},
    ]


async def test_embedded_filters_orders_limits_and_inner(env: ScenarioEnv) -> None:
    service = await seed(env)
    filtered = await get(
        env, service, "/rest/v1/categories?select=id,posts(id)&order=id&posts.title=eq.a"
    )
    assert filtered == [
        {"id": "empty", "posts": []},
        {"id": "news", "posts": [{"id": "p1"}]},
        {"id": "tech", "posts": []},
    ]
    inner = await env.client.get(
        "/rest/v1/categories?select=id,posts!inner(id)&posts.title=eq.a",
        headers={**service, "Prefer": "count=exact"},
    )
    assert inner.json() == [{"id": "news", "posts": [{"id": "p1"}]}]
    assert inner.headers["content-range"] == "0-0/1"
    limited = await get(
        env,
        service,
        "/rest/v1/categories?select=id,posts(id)&id=eq.news&posts.order=id.desc&posts.limit=1",
    )
    assert limited == [{"id": "news", "posts": [{"id": "p2"}]}]
    only_filter = await get(
        env, service, "/rest/v1/categories?select=id,posts()&posts.id=eq.p3&order=id"
    )
    assert only_filter == [{"id": "empty"}, {"id": "news"}, {"id": "tech"}]


async def test_ambiguity_and_hints(env: ScenarioEnv) -> None:
    service = await seed(env)
    ambiguous = await env.client.get("/rest/v1/posts?select=id,people(name)", headers=service)
    assert ambiguous.status_code == 300
    assert ambiguous.json()["code"] == "PGRST201"
    assert "people!author" in ambiguous.json()["hint"]
    hinted = await get(env, service, "/rest/v1/posts?select=id,people!author(name)&id=eq.p1")
    assert hinted == [{"id": "p1", "people": {"name": "Ann"}}]
    by_field = await get(env, service, "/rest/v1/posts?select=id,editor(name)&id=eq.p1")
    assert by_field == [{"id": "p1", "editor": {"name": "Bob"}}]
    reverse = await get(env, service, "/rest/v1/people?select=id,posts!editor(id)&order=id")
    assert reverse == [{"id": "ann", "posts": []}, {"id": "bob", "posts": [{"id": "p1"}]}]


async def test_errors(env: ScenarioEnv) -> None:
    service = await seed(env)
    missing = await env.client.get("/rest/v1/posts?select=id&category.name=eq.x", headers=service)
    assert missing.status_code == 400
    assert missing.json()["code"] == "PGRST108"
    unrelated = await env.client.get("/rest/v1/comments?select=id,people(*)", headers=service)
    assert unrelated.status_code == 400
    assert unrelated.json()["code"] == "PGRST200"


async def test_embedded_rows_obey_their_own_grants_and_policies(env: ScenarioEnv) -> None:
    service = await seed(env)
    anon = await env.key_headers("default", "anon")
    await env.client.patch(
        "/admin/v1/roles/anon", headers=service, json={"permissions": ["rest:categories:select"]}
    )
    refused = await env.client.get("/rest/v1/categories?select=id,posts(id)", headers=anon)
    assert refused.status_code == 401  # no grant on posts
    await env.client.patch(
        "/admin/v1/roles/anon",
        headers=service,
        json={"permissions": ["rest:categories:select", "rest:posts:select"]},
    )
    news = await get(env, anon, "/rest/v1/categories?select=id,posts(id)&id=eq.news&posts.order=id")
    assert news == [{"id": "news", "posts": [{"id": "p1"}]}]  # p2 is not published


async def test_spread_and_ordering_by_an_embed(env: ScenarioEnv) -> None:
    service = await seed(env)
    spread = await get(
        env, service, "/rest/v1/posts?select=id,...category(category_name:name)&order=id"
    )
    assert spread == [
        {"id": "p1", "category_name": "News"},
        {"id": "p2", "category_name": "News"},
        {"id": "p3", "category_name": "Tech"},
        {"id": "p4", "category_name": None},
    ]
    many = await get(
        env,
        service,
        "/rest/v1/categories?select=id,...posts(post_ids:id)&id=eq.news&posts.order=id",
    )
    assert many == [{"id": "news", "post_ids": ["p1", "p2"]}]
    by_author = await get(
        env, service, "/rest/v1/posts?select=id,author(name)&order=author(name).desc.nullslast,id"
    )
    assert [r["id"] for r in by_author] == ["p2", "p1", "p3", "p4"]
    to_many = await env.client.get(
        "/rest/v1/categories?select=id,posts(id)&order=posts(id)", headers=service
    )
    assert to_many.json()["code"] == "PGRST118"
    absent = await env.client.get("/rest/v1/posts?select=id&order=author(name)", headers=service)
    assert absent.json()["code"] == "PGRST108"


async def test_casts_and_aggregates(env: ScenarioEnv) -> None:
    service = await seed(env)
    cast = await get(env, service, "/rest/v1/posts?select=id,published::text&id=eq.p1")
    assert cast[0]["published"] in ("true", "1")  # PostgreSQL's and SQLite's text of true
    unknown = await env.client.get("/rest/v1/posts?select=id::geometry", headers=service)
    assert unknown.json()["code"] == "42704"
    aggregate = await env.client.get("/rest/v1/posts?select=count()", headers=service)
    assert aggregate.status_code == 400
    assert aggregate.json()["code"] == "PGRST123"


async def test_writes_return_their_embeds(env: ScenarioEnv) -> None:
    service = await seed(env)
    rep = {**service, "Prefer": "return=representation"}
    inserted = await env.client.post(
        "/rest/v1/posts?select=id,category(name)",
        headers=rep,
        json={"id": "p9", "title": "z", "category": "tech"},
    )
    assert inserted.json() == [{"id": "p9", "category": {"name": "Tech"}}]
    updated = await env.client.patch(
        "/rest/v1/posts?id=eq.p9&select=title,category(name)",
        headers=rep,
        json={"category": "news"},
    )
    assert updated.json() == [{"title": "z", "category": {"name": "News"}}]
    deleted = await env.client.delete(
        "/rest/v1/posts?id=eq.p2&select=id,category(name)", headers=rep
    )
    assert deleted.json() == [{"id": "p2", "category": {"name": "News"}}]
    refused = await env.client.delete("/rest/v1/posts?id=eq.p1", headers=rep)
    assert refused.json()["code"] == "23503"  # comments still point at p1
    minimal = await env.client.post(
        "/rest/v1/posts", headers={**service, "Prefer": "return=headers-only"}, json={"id": "p10"}
    )
    assert minimal.headers["location"] == "/posts?id=eq.p10"
