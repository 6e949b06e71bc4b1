"""The audit log: entries for admin actions, filters, and tamper detection."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from apprun.modules.platform.tables import audit_head, audit_log
from apprun.testing import ScenarioEnv

pytestmark = pytest.mark.anyio
Headers = dict[str, str]


async def some_history(env: ScenarioEnv, headers: Headers) -> None:
    await env.client.post("/admin/v1/projects", headers=headers, json={"id": "a1", "name": "A"})
    await env.client.post("/admin/v1/projects/a1/keys/rotate", headers=headers)
    await env.client.delete("/admin/v1/projects/a1?confirm=true", headers=headers)


async def test_admin_actions_are_recorded_in_order(env: ScenarioEnv, as_admin: Headers) -> None:
    await some_history(env, as_admin)
    response = await env.client.get("/admin/v1/audit", headers=as_admin)
    entries = response.json()["entries"]
    actions = [e["action"] for e in entries]
    assert actions[:4] == [
        "project.deleted",
        "project.keys_rotated",
        "project.created",
        "admin.login",
    ]
    newest = entries[0]
    assert newest["actor"] == "admin:admin@example.com"
    assert newest["target"] == "a1"
    assert newest["request_id"]
    seqs = [e["seq"] for e in entries]
    assert seqs == sorted(seqs, reverse=True)
    assert entries[0]["prev_hash"] == entries[1]["hash"]


async def test_filters_and_cursor(env: ScenarioEnv, as_admin: Headers) -> None:
    await some_history(env, as_admin)
    only = await env.client.get("/admin/v1/audit?action=project.created", headers=as_admin)
    assert {e["target"] for e in only.json()["entries"]} == {"a1", "default"}
    by_actor = await env.client.get(
        "/admin/v1/audit", params={"actor": "admin:admin@example.com"}, headers=as_admin
    )
    assert all(e["actor"] == "admin:admin@example.com" for e in by_actor.json()["entries"])
    first = (await env.client.get("/admin/v1/audit?limit=2", headers=as_admin)).json()
    assert len(first["entries"]) == 2
    second = (
        await env.client.get(
            f"/admin/v1/audit?limit=2&before={first['next_cursor']}", headers=as_admin
        )
    ).json()
    assert second["entries"][0]["seq"] == first["entries"][1]["seq"] - 1
    future = await env.client.get("/admin/v1/audit?since=2999-01-01T00:00:00Z", headers=as_admin)
    assert future.json()["entries"] == []
    bad = await env.client.get("/admin/v1/audit?limit=0", headers=as_admin)
    assert bad.status_code == 422


async def test_audit_needs_an_admin(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    assert (await env.client.get("/admin/v1/audit", headers=service)).status_code == 403


async def test_verify_detects_a_modified_entry(env: ScenarioEnv, as_admin: Headers) -> None:
    await some_history(env, as_admin)
    ok = await env.client.get("/admin/v1/audit/verify", headers=as_admin)
    assert ok.json()["ok"] is True
    async with env.services.tenancy.control.tx() as conn:
        await conn.execute(
            sa.update(audit_log).where(audit_log.c.seq == 2).values(actor="someone-else")
        )
    result = (await env.client.get("/admin/v1/audit/verify", headers=as_admin)).json()
    assert result["ok"] is False
    assert result["problems"] == ["entry 2 was modified"]


async def test_verify_detects_a_deleted_entry(env: ScenarioEnv, as_admin: Headers) -> None:
    await some_history(env, as_admin)
    async with env.services.tenancy.control.tx() as conn:
        await conn.execute(sa.delete(audit_log).where(audit_log.c.seq == 3))
    result = (await env.client.get("/admin/v1/audit/verify", headers=as_admin)).json()
    assert result["ok"] is False
    assert "entries 3..3 are missing" in result["problems"]
    assert "entry 4 does not follow the entry before it" in result["problems"]


async def test_verify_detects_a_truncated_tail(env: ScenarioEnv, as_admin: Headers) -> None:
    await some_history(env, as_admin)
    async with env.services.tenancy.control.tx() as conn:
        last = (await conn.execute(sa.select(audit_head.c.seq))).scalar_one()
        await conn.execute(sa.delete(audit_log).where(audit_log.c.seq == last))
    result = (await env.client.get("/admin/v1/audit/verify", headers=as_admin)).json()
    assert result["ok"] is False
    assert result["problems"][0].startswith(f"the chain ends at entry {last - 1}")
