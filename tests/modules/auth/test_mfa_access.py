"""Who may call each MFA endpoint: without a key, with the anon key, as the owner, as another
user, with another project's key, with the service_role key, as a platform admin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from apprun.core.clock import ManualClock
from apprun.testing import ApiScenario, ScenarioEnv
from tests.modules.auth.conftest import GOTRUE, anon, signed_up
from tests.modules.auth.mfa_support import MfaUser, mfa_user

pytestmark = pytest.mark.anyio


@dataclass
class World:
    ada: MfaUser
    bob: dict[str, Any]
    callers: dict[str, dict[str, str]]


async def build_world(env: ScenarioEnv, clock: ManualClock) -> World:
    created = await env.client.post(
        "/admin/v1/projects", headers=await env.admin_headers(), json={"id": "other", "name": "O"}
    )
    assert created.status_code == 201, created.text
    ada = await mfa_user(env, clock, "ada@example.com")
    bob = await signed_up(env, "bob@example.com")

    def user(session: dict[str, Any], key: dict[str, str]) -> dict[str, str]:
        return {**key, "Authorization": f"Bearer {session['access_token']}"}

    callers = {
        "no key": {},
        "anon key": await anon(env),
        "service_role": {**await env.key_headers("default", "service_role"), **GOTRUE},
        "platform admin": {**await env.admin_headers(), **GOTRUE},
        "another project's key": user(ada.session, await anon(env, "other")),
        "other service_role": {**await env.key_headers("other", "service_role"), **GOTRUE},
        "another user": user(bob, await anon(env)),
        "owner": user(ada.session, await anon(env)),
    }
    return World(ada, bob, callers)


# endpoint → (method, path, body, [(caller, status, error code or a string the body holds)])
# The owner comes last: its call may change what the others see (DELETE).
USER_REFUSALS = [
    ("no key", 401, "no_authorization"),
    ("anon key", 401, "no_authorization"),
    ("service_role", 401, "no_authorization"),
    ("another project's key", 403, "bad_jwt"),
]
NOT_ADMIN = [
    ("no key", 401, "no_authorization"),
    ("anon key", 403, "not_admin"),
    ("owner", 403, "not_admin"),
    ("other service_role", 404, "user_not_found"),
]
ENDPOINTS: dict[str, tuple[str, str, Any, list[tuple[str, int, str]]]] = {
    "enroll": ("POST", "/auth/v1/factors", {"factor_type": "totp", "friendly_name": "new"},
               [*USER_REFUSALS, ("another user", 200, '"totp"'), ("owner", 200, '"qr_code"')]),
    "challenge": ("POST", "/auth/v1/factors/{factor}/challenge", None,
                  [*USER_REFUSALS, ("another user", 404, "mfa_factor_not_found"),
                   ("owner", 200, '"expires_at"')]),
    "verify": ("POST", "/auth/v1/factors/{factor}/verify",
               {"challenge_id": "00000000-0000-7000-8000-000000000000", "code": "123456"},
               [*USER_REFUSALS, ("another user", 404, "mfa_factor_not_found"),
                ("owner", 422, "mfa_factor_not_found")]),
    "unenroll": ("DELETE", "/auth/v1/factors/{factor}", None,
                 [*USER_REFUSALS, ("another user", 404, "mfa_factor_not_found"),
                  ("owner", 200, '"id"')]),
    "make recovery codes": ("POST", "/auth/v1/factors/recovery-codes", None,
                            [*USER_REFUSALS, ("another user", 403, "insufficient_aal"),
                             ("owner", 200, '"codes"')]),
    "count recovery codes": ("GET", "/auth/v1/factors/recovery-codes", None,
                             [*USER_REFUSALS, ("another user", 200, '"total":0'),
                              ("owner", 200, '"remaining"')]),
    "void recovery codes": ("DELETE", "/auth/v1/factors/recovery-codes", None,
                            [*USER_REFUSALS, ("another user", 403, "insufficient_aal"),
                             ("owner", 200, "{}")]),
    "spend a recovery code": ("POST", "/auth/v1/factors/recovery", {"code": "aaaa-bbbb-cccc"},
                              [*USER_REFUSALS, ("another user", 422, "mfa_verification_failed"),
                               ("owner", 422, "mfa_verification_failed")]),
    "admin list": ("GET", "/auth/v1/admin/users/{user}/factors", None,
                   [*NOT_ADMIN, ("platform admin", 200, '"verified"'),
                    ("service_role", 200, '"verified"')]),
    "admin delete": ("DELETE", "/auth/v1/admin/users/{user}/factors/{factor}", None,
                     [*NOT_ADMIN, ("service_role", 200, '"factor_type":"totp"')]),
}  # fmt: skip


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_access(endpoint: str, env: ScenarioEnv, clock: ManualClock) -> None:
    world = await build_world(env, clock)
    method, path, body, cases = ENDPOINTS[endpoint]
    url = path.format(factor=world.ada.factor_id, user=world.ada.session["user"]["id"])
    for caller, status, expected in cases:
        scenario = ApiScenario(
            f"{endpoint} as {caller}",
            method,
            url,
            headers=world.callers[caller],
            json=body,
            expected_status=status,
            expected_content=(expected,) if status < 300 else (f'"{expected}"',),
        )
        await scenario.run(env)
