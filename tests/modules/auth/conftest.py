"""Shared helpers of the auth tests."""

from __future__ import annotations

from typing import Any

import httpx

from apprun.testing import ScenarioEnv

GOTRUE = {"X-Supabase-Api-Version": "2024-01-01"}
PASSWORD = "a long and unusual passphrase"


async def configure(env: ScenarioEnv, project: str = "default", **changes: Any) -> None:
    headers = await env.key_headers(project, "service_role")
    response = await env.client.patch("/admin/v1/auth/config", headers=headers, json=changes)
    assert response.status_code == 200, response.text


async def anon(env: ScenarioEnv, project: str = "default") -> dict[str, str]:
    return {"apikey": await env.key(project, "anon"), **GOTRUE}


async def signed_up(
    env: ScenarioEnv, email: str, password: str = PASSWORD, project: str = "default"
) -> dict[str, Any]:
    """A confirmed user signed in (auto-confirm on): → the token response."""
    await configure(env, project, mailer_autoconfirm=True)
    response = await env.client.post(
        "/auth/v1/signup",
        headers=await anon(env, project),
        json={"email": email, "password": password},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def bearer(
    env: ScenarioEnv, session: dict[str, Any], project: str = "default"
) -> dict[str, str]:
    return {**await anon(env, project), "Authorization": f"Bearer {session['access_token']}"}


def error_code(response: httpx.Response) -> str:
    body = response.json()
    return str(body.get("code") if isinstance(body.get("code"), str) else body.get("error_code"))


async def sign_in(
    env: ScenarioEnv, email: str, password: str = PASSWORD, project: str = "default"
) -> dict[str, Any]:
    """A new password session (aal1) of an existing, confirmed user."""
    response = await env.client.post(
        "/auth/v1/token?grant_type=password",
        headers=await anon(env, project),
        json={"email": email, "password": password},
    )
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    return session
