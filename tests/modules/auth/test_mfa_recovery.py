"""Recovery codes (apprun's addition) and the admin's view of a user's factors."""

from __future__ import annotations

import re

import httpx
import pytest

from apprun.core.clock import ManualClock
from apprun.testing import ScenarioEnv
from tests.modules.auth.conftest import GOTRUE, anon, bearer, error_code, sign_in, signed_up
from tests.modules.auth.mfa_support import (
    challenge,
    claims,
    code_at_step,
    current_step,
    enroll,
    mfa_user,
    verify,
)

pytestmark = pytest.mark.anyio

CODE = re.compile(r"^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$")


async def recovery_codes(env: ScenarioEnv, session: dict[str, object]) -> list[str]:
    response = await env.client.post(
        "/auth/v1/factors/recovery-codes", headers=await bearer(env, session)
    )
    assert response.status_code == 200, response.text
    codes: list[str] = response.json()["codes"]
    return codes


async def redeem(env: ScenarioEnv, session: dict[str, object], code: str) -> httpx.Response:
    return await env.client.post(
        "/auth/v1/factors/recovery", headers=await bearer(env, session), json={"code": code}
    )


async def test_codes_are_made_at_aal2_only(env: ScenarioEnv, clock: ManualClock) -> None:
    plain = await signed_up(env, "bob@example.com")  # no factor at all
    user = await mfa_user(env, clock, "ada@example.com")
    aal1 = await sign_in(env, "ada@example.com")
    for session in (plain, aal1):
        refused = await env.client.post(
            "/auth/v1/factors/recovery-codes", headers=await bearer(env, session)
        )
        assert refused.status_code == 403 and error_code(refused) == "insufficient_aal"
    codes = await recovery_codes(env, user.session)
    assert len(codes) == len(set(codes)) == 10 and all(CODE.match(c) for c in codes)
    status = await env.client.get(
        "/auth/v1/factors/recovery-codes", headers=await bearer(env, aal1)
    )
    assert status.json()["total"] == 10 and status.json()["remaining"] == 10
    assert not any(code in status.text for code in codes)


async def test_a_code_raises_a_session_once(env: ScenarioEnv, clock: ManualClock) -> None:
    user = await mfa_user(env, clock, "ada@example.com")
    codes = await recovery_codes(env, user.session)
    lost_device = await sign_in(env, "ada@example.com")
    bystander = await sign_in(env, "ada@example.com")
    raised = await env.client.post(
        "/auth/v1/factors/recovery",
        headers=await bearer(env, lost_device),
        json={"code": codes[0].upper().replace("-", " ")},  # as a user may type it
    )
    assert raised.status_code == 200, raised.text
    token = await claims(env, raised.json()["access_token"])
    before = await claims(env, lost_device["access_token"])
    assert token["aal"] == "aal2" and token["session_id"] == before["session_id"]
    assert [e["method"] for e in token["amr"]] == ["recovery_code", "password"]
    gone = await env.client.get("/auth/v1/user", headers=await bearer(env, bystander))
    assert gone.status_code == 403 and error_code(gone) == "session_not_found"
    again = await redeem(env, await sign_in(env, "ada@example.com"), codes[0])
    assert again.status_code == 422 and error_code(again) == "mfa_verification_failed"
    status = await env.client.get(
        "/auth/v1/factors/recovery-codes", headers=await bearer(env, raised.json())
    )
    assert status.json()["remaining"] == 9
    # at aal2 the user removes the lost factor: the codes go with the last factor
    deleted = await env.client.delete(
        f"/auth/v1/factors/{user.factor_id}", headers=await bearer(env, raised.json())
    )
    assert deleted.status_code == 200, deleted.text
    spent = await redeem(env, await sign_in(env, "ada@example.com"), codes[1])
    assert spent.status_code == 422 and error_code(spent) == "mfa_verification_failed"


async def test_codes_belong_to_their_user(env: ScenarioEnv, clock: ManualClock) -> None:
    ada = await mfa_user(env, clock, "ada@example.com")
    bob = await mfa_user(env, clock, "bob@example.com")
    ada_codes = await recovery_codes(env, ada.session)
    await recovery_codes(env, bob.session)
    response = await redeem(env, await sign_in(env, "bob@example.com"), ada_codes[0])
    assert response.status_code == 422 and error_code(response) == "mfa_verification_failed"


async def test_new_codes_void_the_old(env: ScenarioEnv, clock: ManualClock) -> None:
    user = await mfa_user(env, clock, "ada@example.com")
    old = await recovery_codes(env, user.session)
    new = await recovery_codes(env, user.session)
    assert not set(old) & set(new)
    refused = await redeem(env, await sign_in(env, "ada@example.com"), old[0])
    assert refused.status_code == 422
    ok = await redeem(env, await sign_in(env, "ada@example.com"), new[0])
    assert ok.status_code == 200, ok.text


async def test_void_codes(env: ScenarioEnv, clock: ManualClock) -> None:
    user = await mfa_user(env, clock, "ada@example.com")
    codes = await recovery_codes(env, user.session)
    aal1 = await sign_in(env, "ada@example.com")
    refused = await env.client.delete(
        "/auth/v1/factors/recovery-codes", headers=await bearer(env, aal1)
    )
    assert refused.status_code == 403 and error_code(refused) == "insufficient_aal"
    voided = await env.client.delete(
        "/auth/v1/factors/recovery-codes", headers=await bearer(env, user.session)
    )
    assert voided.status_code == 200 and voided.json() == {}
    spent = await redeem(env, aal1, codes[0])
    assert spent.status_code == 422


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [({}, 400, "validation_failed"), ({"code": " - "}, 400, "validation_failed"),
     ({"code": ["x"]}, 400, "bad_json")],
)  # fmt: skip
async def test_redeem_refusals(
    env: ScenarioEnv, clock: ManualClock, body: object, status: int, code: str
) -> None:
    await mfa_user(env, clock, "ada@example.com")
    session = await sign_in(env, "ada@example.com")
    response = await env.client.post(
        "/auth/v1/factors/recovery", headers=await bearer(env, session), json=body
    )
    assert (response.status_code, error_code(response)) == (status, code)


async def test_admin_lists_and_deletes_factors(env: ScenarioEnv, clock: ManualClock) -> None:
    user = await mfa_user(env, clock, "ada@example.com")
    bob = await signed_up(env, "bob@example.com")
    admin = {**await env.key_headers("default", "service_role"), **GOTRUE}
    user_id = user.session["user"]["id"]
    listed = await env.client.get(f"/auth/v1/admin/users/{user_id}/factors", headers=admin)
    assert [(f["id"], f["status"]) for f in listed.json()] == [(user.factor_id, "verified")]
    none = await env.client.get(f"/auth/v1/admin/users/{bob['user']['id']}/factors", headers=admin)
    assert none.status_code == 200 and none.json() == []
    for url, status, code in [
        ("/auth/v1/admin/users/not-a-uuid/factors", 404, "validation_failed"),
        (f"/auth/v1/admin/users/{user.factor_id}/factors", 404, "user_not_found"),
    ]:
        response = await env.client.get(url, headers=admin)
        assert (response.status_code, error_code(response)) == (status, code), url
    wrong_user = await env.client.delete(
        f"/auth/v1/admin/users/{bob['user']['id']}/factors/{user.factor_id}", headers=admin
    )
    assert wrong_user.status_code == 404 and error_code(wrong_user) == "mfa_factor_not_found"
    deleted = await env.client.delete(
        f"/auth/v1/admin/users/{user_id}/factors/{user.factor_id}", headers=admin
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["id"] == user.factor_id and deleted.json()["status"] == "verified"
    after = await env.client.get(f"/auth/v1/admin/users/{user_id}/factors", headers=admin)
    assert after.json() == []
    refreshed = await env.client.post(
        "/auth/v1/token?grant_type=refresh_token",
        headers=await anon(env),
        json={"refresh_token": user.session["refresh_token"]},
    )
    assert (await claims(env, refreshed.json()["access_token"]))["aal"] == "aal1"


async def test_a_lowered_session_is_aal1_whatever_its_token_says(
    env: ScenarioEnv, clock: ManualClock
) -> None:
    user = await mfa_user(env, clock, "ada@example.com")
    second = await enroll(env, user.session, friendly_name="tablet")
    code = code_at_step(second["totp"]["secret"], current_step(clock))
    raised = await verify(env, user.session, second["id"],
                          await challenge(env, user.session, second["id"]), code)  # fmt: skip
    assert raised.status_code == 200, raised.text
    session = raised.json()  # raised by the tablet
    admin = {**await env.key_headers("default", "service_role"), **GOTRUE}
    deleted = await env.client.delete(
        f"/auth/v1/admin/users/{user.session['user']['id']}/factors/{second['id']}", headers=admin
    )
    assert deleted.status_code == 200, deleted.text
    assert (await claims(env, session["access_token"]))["aal"] == "aal2"  # the token still says so
    headers = await bearer(env, session)
    refused = await env.client.delete(f"/auth/v1/factors/{user.factor_id}", headers=headers)
    assert refused.status_code == 422 and error_code(refused) == "insufficient_aal"
    codes = await env.client.post("/auth/v1/factors/recovery-codes", headers=headers)
    assert codes.status_code == 403 and error_code(codes) == "insufficient_aal"
