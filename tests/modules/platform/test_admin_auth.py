"""Platform admins: sign-in, generic errors, rate limiting, token checks."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from apprun.app import create_app
from apprun.core.clock import ManualClock
from apprun.core.context import RequestContext
from apprun.modules.platform import AdminCreate
from apprun.modules.platform.tables import platform_admins
from apprun.testing import ScenarioEnv
from apprun.testing.databases import TestDatabase
from apprun.testing.scenario import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.anyio
TOKEN = "/admin/v1/auth/token"


async def test_sign_in_returns_a_bearer_token(env: ScenarioEnv) -> None:
    response = await env.client.post(TOKEN, json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    listed = await env.client.get(
        "/admin/v1/projects", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert listed.status_code == 200


async def test_email_is_case_insensitive(env: ScenarioEnv) -> None:
    response = await env.client.post(
        TOKEN, json={"email": ADMIN_EMAIL.upper(), "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200


async def test_wrong_password_and_unknown_email_answer_the_same(env: ScenarioEnv) -> None:
    wrong = await env.client.post(TOKEN, json={"email": ADMIN_EMAIL, "password": "nope"})
    unknown = await env.client.post(TOKEN, json={"email": "who@example.com", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()["error"]["code"]
        == unknown.json()["error"]["code"]
        == "platform.invalid_credentials"
    )
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


async def test_failed_sign_ins_are_audited(env: ScenarioEnv) -> None:
    await env.client.post(TOKEN, json={"email": ADMIN_EMAIL, "password": "nope"})
    headers = await env.admin_headers()
    page = (
        await env.client.get("/admin/v1/audit?action=admin.login_failed", headers=headers)
    ).json()
    assert [e["target"] for e in page["entries"]] == [ADMIN_EMAIL]
    assert page["entries"][0]["ip"] == "127.0.0.1"


async def test_sign_in_attempts_are_rate_limited(env: ScenarioEnv) -> None:
    statuses = []
    for _ in range(12):
        response = await env.client.post(TOKEN, json={"email": ADMIN_EMAIL, "password": "bad"})
        statuses.append(response.status_code)
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"]["code"] == "request.rate_limited"
    # Even the right password waits now: the limit is per IP and account, before the check.
    right = await env.client.post(TOKEN, json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert right.status_code == 429


async def test_expired_admin_token_is_refused(env: ScenarioEnv, clock: ManualClock) -> None:
    headers = await env.admin_headers()
    clock.advance(3601)
    response = await env.client.get("/admin/v1/projects", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.invalid_token"


async def test_token_signed_with_another_secret_is_refused(env: ScenarioEnv) -> None:
    headers = await env.admin_headers()
    token = headers["Authorization"].removeprefix("Bearer ")
    header, payload, _ = token.split(".")
    forged = f"{header}.{payload}.c2lnbmF0dXJlLWZyb20tYW5vdGhlci1rZXk"
    response = await env.client.get(
        "/admin/v1/projects", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


async def test_missing_fields_name_the_field(env: ScenarioEnv) -> None:
    response = await env.client.post(TOKEN, json={"email": ADMIN_EMAIL})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"] == [
        {"field": "password", "reason": "Field required"}
    ]


async def test_admins_are_unique_and_need_a_long_password(env: ScenarioEnv) -> None:
    from apprun.modules.platform.errors import AdminExists

    with pytest.raises(AdminExists):
        await env.services.platform.admins.create_admin(
            RequestContext.system(), AdminCreate(email=ADMIN_EMAIL.upper(), password="x" * 12)
        )
    with pytest.raises(ValueError, match="at least 12"):
        AdminCreate(email="new@example.com", password="short")


async def test_first_admin_comes_from_settings_only_once(database: TestDatabase) -> None:
    configured = {"admin_email": "first@example.com", "admin_password": "another long password"}
    app = create_app(database.settings(**configured))
    async with app.state.services.tenancy.control.tx() as conn:
        await conn.execute(sa.delete(platform_admins))  # as on a fresh install
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post(
                TOKEN, json={"email": "first@example.com", "password": "another long password"}
            )
    assert response.status_code == 200
    again = create_app(
        database.settings(admin_email="second@example.com", admin_password="yet another password")
    )
    async with again.router.lifespan_context(again):
        # An administrator exists: the configured one is not added.
        assert await again.state.services.platform.admins.count_admins() == 1
