"""/auth/v1 sign-up, password and refresh grants, the user, sign-out: GoTrue's semantics."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from apprun.core.clock import ManualClock
from apprun.testing import ApiScenario, ScenarioEnv, as_anon, as_service, no_auth, scenarios
from tests.modules.auth.conftest import (
    GOTRUE,
    PASSWORD,
    anon,
    bearer,
    configure,
    error_code,
    signed_up,
)

pytestmark = pytest.mark.anyio


async def post(env: ScenarioEnv, url: str, body: Any, project: str = "default") -> httpx.Response:
    return await env.client.post(url, headers=await anon(env, project), json=body)


async def password_grant(env: ScenarioEnv, email: str, password: str) -> httpx.Response:
    return await post(
        env, "/auth/v1/token?grant_type=password", {"email": email, "password": password}
    )


async def refresh(env: ScenarioEnv, token: str) -> httpx.Response:
    return await post(env, "/auth/v1/token?grant_type=refresh_token", {"refresh_token": token})


async def autoconfirm(env: ScenarioEnv) -> None:
    await configure(env, mailer_autoconfirm=True)


SIGNUP = "/auth/v1/signup"
CASES = scenarios(
    ApiScenario(
        "sign-up without a key",
        "POST",
        SIGNUP,
        auth=no_auth(),
        json={"email": "a@example.com", "password": PASSWORD},
        expected_status=401,
    ),
    ApiScenario(
        "sign-up with a forged key",
        "POST",
        SIGNUP,
        headers={"apikey": "forged"},
        json={"email": "a@example.com", "password": PASSWORD},
        expected_status=401,
    ),
    ApiScenario(
        "auto-confirmed sign-up answers a session",
        "POST",
        SIGNUP,
        auth=as_anon(),
        json={"email": "A@Example.com", "password": PASSWORD, "data": {"name": "Ada"}},
        setup=autoconfirm,
        expected_content=(
            '"access_token"',
            '"refresh_token"',
            '"email":"a@example.com"',
            '"user_metadata":{"name":"Ada"}',
            '"provider":"email"',
        ),
        not_expected_content=("encrypted_password", PASSWORD),
        expected_hooks={"auth.user.created": 1, "auth.user.signed_in": 1},
    ),
    ApiScenario(
        "short password",
        "POST",
        SIGNUP,
        auth=as_anon(),
        headers=GOTRUE,
        json={"email": "a@example.com", "password": "q7#Zk2w"},
        expected_status=422,
        expected_content=('"code":"weak_password"', '"reasons":["length"]'),
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "common password",
        "POST",
        SIGNUP,
        auth=as_anon(),
        json={"email": "a@example.com", "password": "Password123"},
        expected_status=422,
        expected_content=('"error_code":"weak_password"', '"pwned"', '"code":422'),
    ),
    ApiScenario(
        "64-character password is accepted, no composition rules",
        "POST",
        SIGNUP,
        auth=as_anon(),
        setup=autoconfirm,
        json={"email": "a@example.com", "password": "z" * 31 + " " + "y" * 32},
    ),
    ApiScenario(
        "no password",
        "POST",
        SIGNUP,
        auth=as_anon(),
        headers=GOTRUE,
        json={"email": "a@example.com"},
        expected_status=400,
        expected_content=('"code":"validation_failed"',),
    ),
    ApiScenario(
        "bad address",
        "POST",
        SIGNUP,
        auth=as_anon(),
        headers=GOTRUE,
        json={"email": "not-an-address", "password": PASSWORD},
        expected_status=400,
        expected_content=('"code":"email_address_invalid"',),
    ),
    ApiScenario(
        "body that is not JSON",
        "POST",
        SIGNUP,
        auth=as_anon(),
        headers=GOTRUE,
        content=b"{nope",
        expected_status=400,
        expected_content=('"code":"bad_json"',),
    ),
    ApiScenario(
        "mistyped field",
        "POST",
        SIGNUP,
        auth=as_anon(),
        headers=GOTRUE,
        json={"email": ["a@example.com"], "password": PASSWORD},
        expected_status=400,
        expected_content=('"code":"bad_json"',),
    ),
    ApiScenario(
        "half a PKCE pair",
        "POST",
        SIGNUP,
        auth=as_anon(),
        headers=GOTRUE,
        json={"email": "a@example.com", "password": PASSWORD, "code_challenge": "x" * 43},
        expected_status=400,
        expected_content=('"code":"validation_failed"',),
    ),
    ApiScenario(
        "anonymous sign-in is off by default",
        "POST",
        SIGNUP,
        auth=as_anon(),
        headers=GOTRUE,
        json={},
        expected_status=422,
        expected_content=('"code":"anonymous_provider_disabled"',),
    ),
    ApiScenario(
        "phone sign-up is not offered",
        "POST",
        SIGNUP,
        auth=as_anon(),
        headers=GOTRUE,
        json={"phone": "+15550100", "password": PASSWORD},
        expected_status=400,
        expected_content=('"code":"phone_provider_disabled"',),
    ),
    ApiScenario(
        "unknown grant type",
        "POST",
        "/auth/v1/token?grant_type=magic",
        auth=as_anon(),
        headers=GOTRUE,
        json={},
        expected_status=400,
        expected_content=('"code":"invalid_credentials"',),
    ),
    ApiScenario(
        "GET /user without a token",
        "GET",
        "/auth/v1/user",
        auth=as_anon(),
        headers=GOTRUE,
        expected_status=401,
        expected_content=('"code":"no_authorization"',),
    ),
    ApiScenario(
        "GET /user with the service key is not a user",
        "GET",
        "/auth/v1/user",
        auth=as_service(),
        expected_status=401,
    ),
    ApiScenario(
        "GET /user with a garbage bearer",
        "GET",
        "/auth/v1/user",
        auth=as_anon(),
        headers={"Authorization": "Bearer abc.def.ghi"},
        expected_status=401,
    ),
    ApiScenario(
        "settings",
        "GET",
        "/auth/v1/settings",
        auth=as_anon(),
        expected_content=('"external":{"email":true', '"disable_signup":false'),
    ),
    ApiScenario(
        "logout without a token",
        "POST",
        "/auth/v1/logout",
        auth=as_anon(),
        expected_status=401,
    ),
)


@pytest.mark.parametrize("case", CASES)
async def test_scenarios(case: ApiScenario, env: ScenarioEnv) -> None:
    await case.run(env)


async def test_sign_in_and_the_user(env: ScenarioEnv) -> None:
    await signed_up(env, "ada@example.com", project="default")
    response = await password_grant(env, "ADA@example.com", PASSWORD)
    assert response.status_code == 200, response.text
    session = response.json()
    assert session["token_type"] == "bearer" and session["expires_in"] == 3600
    assert session["user"]["aud"] == "authenticated"
    assert session["user"]["identities"][0]["identity_data"]["email"] == "ada@example.com"
    me = await env.client.get("/auth/v1/user", headers=await bearer(env, session))
    assert me.json()["id"] == session["user"]["id"]
    assert me.json()["last_sign_in_at"]


async def test_wrong_password_and_unknown_user_answer_alike(env: ScenarioEnv) -> None:
    await signed_up(env, "ada@example.com")
    wrong = await password_grant(env, "ada@example.com", PASSWORD + "x")
    unknown = await password_grant(env, "nobody@example.com", PASSWORD)
    empty = await post(env, "/auth/v1/token?grant_type=password", {"email": "ada@example.com"})
    for response in (wrong, unknown, empty):
        assert response.status_code == 400
        assert response.json() == {
            "code": "invalid_credentials",
            "message": "Invalid login credentials.",
        }


async def test_signup_of_a_taken_address_does_not_tell(env: ScenarioEnv) -> None:
    first = await signed_up(env, "ada@example.com")
    await configure(env, mailer_autoconfirm=True)
    again = await post(env, SIGNUP, {"email": "ada@example.com", "password": PASSWORD})
    assert again.status_code == 422 and error_code(again) == "user_already_exists"
    del first


async def test_refresh_rotates_and_reuse_ends_the_session(
    env: ScenarioEnv, clock: ManualClock
) -> None:
    session = await signed_up(env, "ada@example.com")
    first = await refresh(env, session["refresh_token"])
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refresh_token"] != session["refresh_token"]
    # Within the reuse interval (two tabs refreshing at once) the old token still answers.
    sibling = await refresh(env, session["refresh_token"])
    assert sibling.status_code == 200
    clock.advance(seconds=11)
    replay = await refresh(env, session["refresh_token"])
    assert replay.status_code == 400 and error_code(replay) == "refresh_token_already_used"
    # The whole session is gone: the rotated token and the access token die with it.
    after = await refresh(env, rotated["refresh_token"])
    assert after.status_code == 400 and error_code(after) == "refresh_token_not_found"
    me = await env.client.get("/auth/v1/user", headers=await bearer(env, rotated))
    assert me.status_code == 403 and error_code(me) == "session_not_found"


async def test_refresh_token_errors(env: ScenarioEnv) -> None:
    short = await refresh(env, "abc")
    assert short.status_code == 400 and error_code(short) == "validation_failed"
    unknown = await refresh(env, "x" * 43)
    assert unknown.status_code == 400 and error_code(unknown) == "refresh_token_not_found"
    missing = await post(env, "/auth/v1/token?grant_type=refresh_token", {})
    assert missing.status_code == 400


async def test_sessions_time_out(env: ScenarioEnv, clock: ManualClock) -> None:
    await configure(env, session_inactivity_timeout_seconds=3600)
    session = await signed_up(env, "ada@example.com")
    clock.advance(seconds=3601)
    expired = await refresh(env, session["refresh_token"])
    assert expired.status_code == 400 and error_code(expired) == "session_expired"


@pytest.mark.parametrize(
    ("scope", "first_alive", "second_alive"),
    [("local", False, True), ("others", True, False), ("global", False, False)],
)
async def test_logout_scopes(
    env: ScenarioEnv, scope: str, first_alive: bool, second_alive: bool
) -> None:
    first = await signed_up(env, "ada@example.com")
    second = (await password_grant(env, "ada@example.com", PASSWORD)).json()
    out = await env.client.post(f"/auth/v1/logout?scope={scope}", headers=await bearer(env, first))
    assert out.status_code == 204 and out.content == b""
    for session, alive in ((first, first_alive), (second, second_alive)):
        response = await refresh(env, session["refresh_token"])
        assert (response.status_code == 200) is alive, (scope, response.text)


async def test_logout_scope_is_checked(env: ScenarioEnv) -> None:
    session = await signed_up(env, "ada@example.com")
    bad = await env.client.post("/auth/v1/logout?scope=all", headers=await bearer(env, session))
    assert bad.status_code == 400 and error_code(bad) == "validation_failed"


async def test_update_metadata_merges(env: ScenarioEnv) -> None:
    await configure(env, mailer_autoconfirm=True)
    created = await post(
        env, SIGNUP, {"email": "ada@example.com", "password": PASSWORD, "data": {"a": 1, "b": 2}}
    )
    headers = await bearer(env, created.json())
    updated = await env.client.put(
        "/auth/v1/user", headers=headers, json={"data": {"b": None, "c": 3}}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["user_metadata"] == {"a": 1, "c": 3}
    refused = await env.client.put(
        "/auth/v1/user", headers={**headers, **GOTRUE}, json={"app_metadata": {"roles": ["admin"]}}
    )
    assert refused.status_code == 403 and error_code(refused) == "not_admin"


async def test_password_change(env: ScenarioEnv, clock: ManualClock) -> None:
    session = await signed_up(env, "ada@example.com")
    other = (await password_grant(env, "ada@example.com", PASSWORD)).json()
    headers = {**await bearer(env, session), **GOTRUE}
    same = await env.client.put("/auth/v1/user", headers=headers, json={"password": PASSWORD})
    assert same.status_code == 422 and error_code(same) == "same_password"
    weak = await env.client.put("/auth/v1/user", headers=headers, json={"password": "12345678"})
    assert weak.status_code == 422 and error_code(weak) == "weak_password"
    new = "another long passphrase here"
    changed = await env.client.put("/auth/v1/user", headers=headers, json={"password": new})
    assert changed.status_code == 200, changed.text
    assert (await password_grant(env, "ada@example.com", new)).status_code == 200
    assert (await password_grant(env, "ada@example.com", PASSWORD)).status_code == 400
    # The other session ended with the old password; this one goes on.
    assert (await refresh(env, other["refresh_token"])).status_code == 400
    assert (await refresh(env, session["refresh_token"])).status_code == 200


async def test_old_session_needs_the_current_password(env: ScenarioEnv, clock: ManualClock) -> None:
    await configure(env, recent_sign_in_seconds=600)
    session = await signed_up(env, "ada@example.com")
    clock.advance(seconds=601)
    fresh = (await refresh(env, session["refresh_token"])).json()
    headers = {**await bearer(env, fresh), **GOTRUE}
    new = "another long passphrase here"
    missing = await env.client.put("/auth/v1/user", headers=headers, json={"password": new})
    assert missing.status_code == 400 and error_code(missing) == "current_password_required"
    wrong = await env.client.put(
        "/auth/v1/user", headers=headers, json={"password": new, "current_password": "nope nope"}
    )
    assert wrong.status_code == 400 and error_code(wrong) == "current_password_invalid"
    right = await env.client.put(
        "/auth/v1/user", headers=headers, json={"password": new, "current_password": PASSWORD}
    )
    assert right.status_code == 200, right.text


async def test_anonymous_sign_in(env: ScenarioEnv) -> None:
    await configure(env, anonymous_users_enabled=True)
    response = await post(env, SIGNUP, {"data": {"theme": "dark"}})
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert user["is_anonymous"] is True and user["email"] == "" and user["identities"] == []
    assert user["app_metadata"] == {"roles": []}


async def test_signup_disabled(env: ScenarioEnv) -> None:
    await configure(env, disable_signup=True)
    response = await post(env, SIGNUP, {"email": "a@example.com", "password": PASSWORD})
    assert response.status_code == 422 and error_code(response) == "signup_disabled"


async def test_gotrue_error_shapes(env: ScenarioEnv) -> None:
    legacy = await env.client.post(
        "/auth/v1/token?grant_type=password",
        headers={"apikey": await env.key("default", "anon")},
        json={"email": "x@example.com", "password": "y"},
    )
    assert legacy.json() == {
        "code": 400,
        "error_code": "invalid_credentials",
        "msg": "Invalid login credentials.",
    }
    assert legacy.headers["x-sb-error-code"] == "invalid_credentials"
    versioned = await password_grant(env, "x@example.com", "y")
    assert versioned.headers["x-supabase-api-version"] == "2024-01-01"
