"""Helpers for tests with real users: signed-up users as scenario credentials, admin calls,
audit look-ups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apprun.testing import ScenarioEnv
from tests.modules.auth.conftest import GOTRUE, PASSWORD, bearer, sign_in, signed_up

USER_A = "0190c0de-0000-7000-8000-00000000000a"
USER_B = "0190c0de-0000-7000-8000-00000000000b"


async def service(env: ScenarioEnv, project: str = "default") -> dict[str, str]:
    return {**await env.key_headers(project, "service_role"), **GOTRUE}


async def admin_create(env: ScenarioEnv, project: str = "default", **body: Any) -> dict[str, Any]:
    """A user made through POST /auth/v1/admin/users (email confirmed unless told)."""
    body.setdefault("email_confirm", True)
    response = await env.client.post(
        "/auth/v1/admin/users", headers=await service(env, project), json=body
    )
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()
    return user


async def audit_entries(env: ScenarioEnv, action: str, project: str = "default") -> list[Any]:
    response = await env.client.get(
        "/admin/v1/audit",
        headers=await env.admin_headers(),
        params={"action": action, "project_id": project},
    )
    assert response.status_code == 200, response.text
    entries: list[Any] = response.json()["entries"]
    return entries


@dataclass(frozen=True)
class SignedUp:
    """Scenario credentials: a user signed up (auto-confirm on) with this email, its access
    token beside the project's anon key, as supabase-js sends them."""

    email: str
    project: str = "default"

    async def headers(self, env: ScenarioEnv) -> dict[str, str]:
        session = await signed_up(env, self.email, project=self.project)
        return await bearer(env, session, self.project)


def as_user(email: str = "ada@example.com", project: str = "default") -> SignedUp:
    return SignedUp(email, project)


@dataclass(frozen=True)
class SignedIn:
    """Scenario credentials: an existing user's password sign-in, beside the anon key."""

    email: str
    password: str = PASSWORD
    project: str = "default"

    async def headers(self, env: ScenarioEnv) -> dict[str, str]:
        session = await sign_in(env, self.email, self.password, self.project)
        return await bearer(env, session, self.project)
