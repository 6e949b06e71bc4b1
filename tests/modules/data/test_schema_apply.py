"""Declarative schema: export → apply round trip, diffs, confirmation, the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from apprun.cli import app as cli
from apprun.testing import ScenarioEnv
from apprun.testing.databases import TEST_SECRET, TestDatabase

pytestmark = pytest.mark.anyio

DOCUMENT: dict[str, Any] = {
    "collections": [
        {"name": "posts", "fields": [
            {"name": "title", "type": "text", "required": True},
            {"name": "category", "type": "relation", "collection": "categories"}],
         "policies": {"select": "category.name = \"news\""}},
        {"name": "categories", "fields": [{"name": "name", "type": "text"}]},
    ]
}  # fmt: skip


async def test_apply_creates_in_dependency_order_and_exports_back(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    planned = await env.client.post(
        "/admin/v1/schema/apply?dry_run=true", headers=service, json=DOCUMENT
    )
    assert planned.status_code == 200
    assert [m["collection"] for m in planned.json()["migrations"]] == ["categories", "posts"]
    assert planned.json()["applied"] is False
    assert (await env.client.get("/admin/v1/collections", headers=service)).json() == []

    applied = await env.client.post("/admin/v1/schema/apply", headers=service, json=DOCUMENT)
    assert applied.status_code == 200, applied.text
    exported = (await env.client.get("/admin/v1/schema", headers=service)).json()
    assert {c["name"] for c in exported["collections"]} == {"posts", "categories"}

    again = await env.client.post("/admin/v1/schema/apply", headers=service, json=exported)
    assert again.json()["migrations"] == []  # the round trip changes nothing

    as_yaml = await env.client.get("/admin/v1/schema?format=yaml", headers=service)
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.text) == exported


async def test_apply_alters_and_drops_with_confirmation(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    await env.client.post("/admin/v1/schema/apply", headers=service, json=DOCUMENT)
    smaller = {
        "collections": [
            {
                "name": "categories",
                "fields": [{"name": "label", "type": "text", "renamed_from": "name"}],
            }
        ]
    }
    refused = await env.client.post("/admin/v1/schema/apply", headers=service, json=smaller)
    assert refused.status_code == 400
    assert "drop table posts and every row in it" in refused.json()["error"]["details"]["drops"]
    done = await env.client.post(
        "/admin/v1/schema/apply?confirm=true", headers=service, json=smaller
    )
    assert done.status_code == 200, done.text
    names = [
        c["name"] for c in (await env.client.get("/admin/v1/collections", headers=service)).json()
    ]
    assert names == ["categories"]
    fields = (await env.client.get("/admin/v1/collections/categories", headers=service)).json()
    assert [f["name"] for f in fields["fields"]] == ["label"]


async def test_a_failing_document_applies_nothing(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    broken = {
        "collections": [
            *DOCUMENT["collections"],
            {
                "name": "tags",
                "fields": [{"name": "x", "type": "text"}],
                "policies": {"select": "nope = 1"},
            },
        ]
    }
    response = await env.client.post("/admin/v1/schema/apply", headers=service, json=broken)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "data.invalid_rule"
    assert (await env.client.get("/admin/v1/collections", headers=service)).json() == []
    dangling = {"collections": [DOCUMENT["collections"][0]]}
    response = await env.client.post("/admin/v1/schema/apply", headers=service, json=dangling)
    assert response.status_code == 409


async def test_yaml_bodies_and_their_limits(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    body = yaml.safe_dump(DOCUMENT)
    ok = await env.client.post(
        "/admin/v1/schema/apply?dry_run=true",
        headers={**service, "content-type": "application/yaml"},
        content=body,
    )
    assert ok.status_code == 200
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\ncollections: []\n"
    refused = await env.client.post("/admin/v1/schema/apply", headers=service, content=bomb)
    assert refused.status_code == 400


def test_cli_export_and_apply(database: TestDatabase, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"APPRUN_DATA_DIR": str(database.data_dir), "APPRUN_SECRET_KEY": TEST_SECRET}
    if database.database_url:
        env["APPRUN_DATABASE_URL"] = database.database_url
    schema = tmp_path / "schema.yaml"
    schema.write_text(yaml.safe_dump(DOCUMENT))
    planned = runner.invoke(cli, ["collections", "apply", str(schema), "--dry-run"], env=env)
    assert planned.exit_code == 0, planned.output
    assert "posts: create table posts" in planned.output
    applied = runner.invoke(cli, ["collections", "apply", str(schema)], env=env)
    assert applied.exit_code == 0, applied.output
    exported = runner.invoke(cli, ["collections", "export"], env=env)
    assert {c["name"] for c in yaml.safe_load(exported.output)["collections"]} == {
        "posts",
        "categories",
    }
    schema.write_text(yaml.safe_dump({"collections": []}))
    declined = runner.invoke(cli, ["collections", "apply", str(schema)], env=env, input="n\n")
    assert declined.exit_code == 1
    assert "drop table posts" in declined.output
    still = runner.invoke(cli, ["collections", "export", "--format", "json"], env=env)
    assert '"posts"' in still.output
