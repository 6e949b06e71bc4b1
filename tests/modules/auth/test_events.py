"""Every auth event emits its hook and leaves an audit entry: sign-up, sign-in, sign-out,
refresh, refresh-token reuse, and the admin's create, update, ban and delete."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import jwt as pyjwt
import pytest

from apprun.core.clock import ManualClock
from apprun.testing import ApiScenario, ScenarioEnv
from tests.modules.auth.conftest import GOTRUE, PASSWORD, anon, configure, signed_up
from tests.modules.auth.users import USER_A, SignedUp, admin_create, audit_entries, service

pytestmark = pytest.mark.anyio
EMAIL = "ada@example.com"


class AnonKey:
    async def headers(self, env: ScenarioEnv) -> dict[str, str]:
        return await anon(env)


class ServiceKey:
    async def headers(self, env: ScenarioEnv) -> dict[str, str]:
        return await service(env)


async def autoconfirm(env: ScenarioEnv) -> None:
    await configure(env, mailer_autoconfirm=True)


async def existing_user(env: ScenarioEnv) -> None:
    await admin_create(env, id=USER_A, email=EMAIL, password=PASSWORD)


def case(name: str, method: str, url: str, audit: dict[str, int], **kwargs: Any) -> Any:
    return (ApiScenario(name, method, url, headers=GOTRUE, **kwargs), audit)


CASES = [
    case("sign-up", "POST", "/auth/v1/signup", {"auth.user.created": 1},
         auth=AnonKey(), json={"email": EMAIL, "password": PASSWORD}, setup=autoconfirm,
         expected_hooks={"auth.user.created": 1, "auth.user.signed_in": 1, "*": 2}),
    case("refused sign-up", "POST", "/auth/v1/signup", {"auth.user.created": 0},
         auth=AnonKey(), json={"email": EMAIL, "password": "123"}, setup=autoconfirm,
         expected_status=422, expected_hooks={"*": 0}),
    case("sign-in", "POST", "/auth/v1/token?grant_type=password", {"auth.user.signed_in": 1},
         auth=AnonKey(), json={"email": EMAIL, "password": PASSWORD}, setup=existing_user,
         expected_hooks={"auth.user.signed_in": 1, "*": 1}),
    case("wrong password", "POST", "/auth/v1/token?grant_type=password",
         {"auth.user.signed_in": 0}, auth=AnonKey(), json={"email": EMAIL, "password": "nope"},
         setup=existing_user, expected_status=400, expected_hooks={"*": 0}),
    case("sign-out", "POST", "/auth/v1/logout", {"auth.user.signed_out": 1},
         auth=SignedUp(EMAIL), expected_status=204,
         expected_hooks={"auth.user.signed_out": 1, "*": 1}),
    case("admin create", "POST", "/auth/v1/admin/users", {"auth.user.created": 1},
         auth=ServiceKey(), json={"email": EMAIL},
         expected_hooks={"auth.user.created": 1, "*": 1}),
    case("admin update", "PUT", f"/auth/v1/admin/users/{USER_A}", {"auth.user.updated": 1},
         auth=ServiceKey(), json={"user_metadata": {"a": 1}}, setup=existing_user,
         expected_hooks={"auth.user.updated": 1, "*": 1}),
    case("admin password change", "PUT", f"/auth/v1/admin/users/{USER_A}",
         {"auth.user.updated": 1, "auth.user.password_changed": 1}, auth=ServiceKey(),
         json={"password": "a brand new passphrase"}, setup=existing_user,
         expected_hooks={"auth.user.updated": 1, "auth.user.password_changed": 1, "*": 2}),
    case("admin ban", "PUT", f"/auth/v1/admin/users/{USER_A}",
         {"auth.user.updated": 1, "auth.user.banned": 1}, auth=ServiceKey(),
         json={"ban_duration": "1h"}, setup=existing_user,
         expected_hooks={"auth.user.updated": 1, "auth.user.banned": 1, "*": 2}),
    case("refused admin update", "PUT", f"/auth/v1/admin/users/{USER_A}",
         {"auth.user.updated": 0}, auth=ServiceKey(), json={"password": "123"},
         setup=existing_user, expected_status=422, expected_hooks={"*": 0}),
    case("admin delete", "DELETE", f"/auth/v1/admin/users/{USER_A}", {"auth.user.deleted": 1},
         auth=ServiceKey(), setup=existing_user,
         expected_hooks={"auth.user.deleted": 1, "*": 1}),
    case("admin sign-out", "POST", f"/auth/v1/admin/users/{USER_A}/logout",
         {"auth.user.signed_out": 1}, auth=ServiceKey(), setup=existing_user,
         expected_hooks={"auth.user.signed_out": 1, "*": 1}),
]  # fmt: skip


@pytest.mark.parametrize(("scenario", "audit"), [pytest.param(s, a, id=s.name) for s, a in CASES])
async def test_hooks_and_audit(
    scenario: ApiScenario, audit: dict[str, int], env: ScenarioEnv
) -> None:
    if scenario.setup is not None:  # what the setup records does not count
        await scenario.setup(env)
    before = {action: len(await audit_entries(env, action)) for action in audit}
    await replace(scenario, setup=None).run(env)
    for action, count in audit.items():
        assert len(await audit_entries(env, action)) - before[action] == count, action


async def refresh(env: ScenarioEnv, token: str) -> Any:
    return await env.client.post(
        "/auth/v1/token?grant_type=refresh_token",
        headers=await anon(env),
        json={"refresh_token": token},
    )


async def test_refresh_and_refresh_token_reuse(env: ScenarioEnv, clock: ManualClock) -> None:
    session = await signed_up(env, EMAIL)
    before = env.hooks.counts.copy()
    refreshed = await refresh(env, session["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert (env.hooks.counts - before) == {"auth.token.refreshed": 1}
    clock.advance(11)  # past the reuse interval: the old token is a stolen one
    before = env.hooks.counts.copy()
    reused = await refresh(env, session["refresh_token"])
    assert reused.status_code == 400 and reused.json()["code"] == "refresh_token_already_used"
    assert (env.hooks.counts - before) == {"auth.token.reused": 1}
    [entry] = await audit_entries(env, "auth.refresh_token_reused")
    claims = pyjwt.decode(session["access_token"], options={"verify_signature": False})
    assert entry["target"] == f"session:{claims['session_id']}"
