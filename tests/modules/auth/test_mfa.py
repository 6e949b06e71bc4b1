"""MFA with TOTP through /auth/v1/factors, on SQLite and PostgreSQL: enroll, challenge, verify
(the session goes to aal2), the one-use and window rules, attempt limits, unenroll."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from apprun.core.clock import ManualClock
from apprun.testing import ScenarioEnv
from tests.modules.auth.conftest import anon, bearer, configure, error_code, sign_in, signed_up
from tests.modules.auth.mfa_support import (
    PERIOD,
    challenge,
    claims,
    code_at_step,
    current_step,
    enroll,
    mfa_user,
    verify,
)

pytestmark = pytest.mark.anyio


async def test_enroll_answers_gotrue_shape(env: ScenarioEnv) -> None:
    session = await signed_up(env, "ada@example.com")
    factor = await enroll(env, session, issuer="My App")
    assert factor["type"] == "totp"
    assert factor["friendly_name"] == ""  # a string even when none was given
    uri = urlsplit(factor["totp"]["uri"])
    assert (uri.scheme, uri.netloc, unquote(uri.path)) == (
        "otpauth",
        "totp",
        "/My App:ada@example.com",
    )
    query = parse_qs(uri.query)
    assert query["secret"] == [factor["totp"]["secret"]] and query["issuer"] == ["My App"]
    assert factor["totp"]["qr_code"].startswith("<svg")
    me = (await env.client.get("/auth/v1/user", headers=await bearer(env, session))).json()
    assert [(f["id"], f["status"], f["factor_type"]) for f in me["factors"]] == [
        (factor["id"], "unverified", "totp")
    ]
    assert env.hooks.counts["auth.factor.enrolled"] == 1


async def test_default_issuer_is_the_site_host(env: ScenarioEnv) -> None:
    session = await signed_up(env, "ada@example.com")
    patched = await env.client.patch(
        "/admin/v1/settings",
        headers=await env.key_headers("default", "service_role"),
        json={"site_url": "https://app.example.org"},
    )
    assert patched.status_code == 200, patched.text
    factor = await enroll(env, session)
    assert parse_qs(urlsplit(factor["totp"]["uri"]).query)["issuer"] == ["app.example.org"]


async def test_verify_raises_the_same_session_to_aal2(env: ScenarioEnv, clock: ManualClock) -> None:
    session = await signed_up(env, "ada@example.com")
    other = await sign_in(env, "ada@example.com")  # an aal1 session elsewhere
    first, second = (
        await enroll(env, session, friendly_name="a"),
        await enroll(env, session, friendly_name="b"),
    )
    before = await claims(env, session["access_token"])
    assert before["aal"] == "aal1"
    challenge_id = await challenge(env, session, first["id"])
    code = code_at_step(first["totp"]["secret"], current_step(clock))
    response = await verify(env, session, first["id"], challenge_id, code)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"] != session["refresh_token"] and body["token_type"] == "bearer"
    after = await claims(env, body["access_token"])
    assert after["aal"] == "aal2" and after["session_id"] == before["session_id"]
    assert [e["method"] for e in after["amr"]] == ["totp", "password"]
    factors = {f["id"]: f["status"] for f in body["user"]["factors"]}
    assert factors == {first["id"]: "verified"}  # the other unverified factor is gone
    assert second["id"] not in factors
    gone = await env.client.get("/auth/v1/user", headers=await bearer(env, other))
    assert gone.status_code == 403 and error_code(gone) == "session_not_found"
    refreshed = await env.client.post(
        "/auth/v1/token?grant_type=refresh_token",
        headers=await anon(env),
        json={"refresh_token": body["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    assert (await claims(env, refreshed.json()["access_token"]))["aal"] == "aal2"
    assert env.hooks.counts["auth.factor.verified"] == 1


async def test_a_code_is_good_once(env: ScenarioEnv, clock: ManualClock) -> None:
    user = await mfa_user(env, clock, "ada@example.com")  # spent the previous step's code
    step = current_step(clock)
    code = code_at_step(user.secret, step)
    ok = await verify(env, user.session, user.factor_id,
                      await challenge(env, user.session, user.factor_id), code)  # fmt: skip
    assert ok.status_code == 200, ok.text
    session = ok.json()
    again = await verify(env, session, user.factor_id,
                         await challenge(env, session, user.factor_id), code)  # fmt: skip
    assert again.status_code == 422 and error_code(again) == "mfa_verification_failed"
    older = code_at_step(user.secret, step - 1)  # inside the window, but before the used step
    refused = await verify(env, session, user.factor_id,
                           await challenge(env, session, user.factor_id), older)  # fmt: skip
    assert refused.status_code == 422 and error_code(refused) == "mfa_verification_failed"
    clock.advance(PERIOD)
    fresh = await verify(env, session, user.factor_id,
                         await challenge(env, session, user.factor_id),
                         code_at_step(user.secret, step + 1))  # fmt: skip
    assert fresh.status_code == 200, fresh.text


async def test_window_is_one_step_either_way(env: ScenarioEnv, clock: ManualClock) -> None:
    session = await signed_up(env, "ada@example.com")
    factor = await enroll(env, session)
    secret, step = factor["totp"]["secret"], current_step(clock)
    challenge_id = await challenge(env, session, factor["id"])
    for offset in (-2, 2):
        far = await verify(
            env, session, factor["id"], challenge_id, code_at_step(secret, step + offset)
        )
        assert far.status_code == 422 and error_code(far) == "mfa_verification_failed", offset
    previous = await verify(
        env, session, factor["id"], challenge_id, code_at_step(secret, step - 1)
    )
    assert previous.status_code == 200, previous.text
    session = previous.json()
    following = await verify(env, session, factor["id"],
                             await challenge(env, session, factor["id"]),
                             code_at_step(secret, step + 1))  # fmt: skip
    assert following.status_code == 200, following.text


async def test_a_challenge_takes_five_wrong_codes(env: ScenarioEnv, clock: ManualClock) -> None:
    user = await mfa_user(env, clock, "ada@example.com")
    good = code_at_step(user.secret, current_step(clock))
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    challenge_id = await challenge(env, user.session, user.factor_id)
    for _ in range(5):
        failed = await verify(env, user.session, user.factor_id, challenge_id, wrong)
        assert failed.status_code == 422 and error_code(failed) == "mfa_verification_failed"
    dead = await verify(env, user.session, user.factor_id, challenge_id, good)
    assert dead.status_code == 422 and error_code(dead) == "mfa_challenge_expired"
    fresh = await verify(env, user.session, user.factor_id,
                         await challenge(env, user.session, user.factor_id), good)  # fmt: skip
    assert fresh.status_code == 200, fresh.text


async def test_wrong_codes_are_rate_limited_per_factor(
    env: ScenarioEnv, clock: ManualClock
) -> None:
    user = await mfa_user(env, clock, "ada@example.com")
    good = code_at_step(user.secret, current_step(clock))
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    for _ in range(3):  # 15 wrong codes over three challenges
        challenge_id = await challenge(env, user.session, user.factor_id)
        for _ in range(5):
            await verify(env, user.session, user.factor_id, challenge_id, wrong)
    challenge_id = await challenge(env, user.session, user.factor_id)
    limited = await verify(env, user.session, user.factor_id, challenge_id, good)
    assert limited.status_code == 429 and error_code(limited) == "over_request_rate_limit"
    clock.advance(15 * 60)
    later = code_at_step(user.secret, current_step(clock))
    challenge_id = await challenge(env, user.session, user.factor_id)
    ok = await verify(env, user.session, user.factor_id, challenge_id, later)
    assert ok.status_code == 200, ok.text


async def test_challenges_expire_after_five_minutes(env: ScenarioEnv, clock: ManualClock) -> None:
    session = await signed_up(env, "ada@example.com")
    factor = await enroll(env, session)
    response = await env.client.post(
        f"/auth/v1/factors/{factor['id']}/challenge", headers=await bearer(env, session)
    )
    body = response.json()
    assert body["type"] == "totp"
    assert body["expires_at"] == int(clock.now().timestamp()) + 300
    clock.advance(301)
    code = code_at_step(factor["totp"]["secret"], current_step(clock))
    late = await verify(env, session, factor["id"], body["id"], code)
    assert late.status_code == 422 and error_code(late) == "mfa_challenge_expired"


async def test_verify_refusals(env: ScenarioEnv, clock: ManualClock) -> None:
    session = await signed_up(env, "ada@example.com")
    factor = await enroll(env, session)
    other = await enroll(env, session, friendly_name="other")
    challenge_id = await challenge(env, session, factor["id"])
    code = code_at_step(factor["totp"]["secret"], current_step(clock))
    cases = [
        (factor["id"], {"challenge_id": challenge_id, "code": ""}, 400, "validation_failed"),
        (factor["id"], {"challenge_id": challenge_id}, 400, "validation_failed"),
        (factor["id"], {"code": code}, 400, "validation_failed"),
        (factor["id"], {"challenge_id": challenge_id, "code": 123456}, 400, "bad_json"),
        (factor["id"], {"challenge_id": "nope", "code": code}, 422, "mfa_factor_not_found"),
        (other["id"], {"challenge_id": challenge_id, "code": code}, 422, "mfa_factor_not_found"),
        ("not-a-uuid", {"challenge_id": challenge_id, "code": code}, 404, "mfa_factor_not_found"),
    ]
    for factor_id, body, status, code_name in cases:
        response = await env.client.post(
            f"/auth/v1/factors/{factor_id}/verify", headers=await bearer(env, session), json=body
        )
        assert (response.status_code, error_code(response)) == (status, code_name), body
    # none of it spent the challenge or the code
    ok = await verify(env, session, factor["id"], challenge_id, code)
    assert ok.status_code == 200, ok.text


async def test_enroll_refusals(env: ScenarioEnv, clock: ManualClock) -> None:
    user = await mfa_user(env, clock, "ada@example.com")
    aal1 = await sign_in(env, "ada@example.com")
    cases = [
        (aal1, {"factor_type": "totp", "friendly_name": "x"}, 403, "insufficient_aal"),
        (user.session, {"factor_type": "totp", "friendly_name": "phone"}, 422,
         "mfa_factor_name_conflict"),
        (user.session, {"factor_type": "phone", "phone": "+15555550100"}, 422,
         "mfa_phone_enroll_not_enabled"),
        (user.session, {"factor_type": "webauthn"}, 422, "mfa_webauthn_enroll_not_enabled"),
        (user.session, {"factor_type": "sms"}, 400, "validation_failed"),
        (user.session, {}, 400, "validation_failed"),
        (user.session, {"factor_type": "totp", "friendly_name": "x" * 201}, 400,
         "validation_failed"),
        (user.session, {"factor_type": "totp", "friendly_name": 7}, 400, "bad_json"),
    ]  # fmt: skip
    for session, body, status, code in cases:
        response = await env.client.post(
            "/auth/v1/factors", headers=await bearer(env, session), json=body
        )
        assert (response.status_code, error_code(response)) == (status, code), body
    me = (await env.client.get("/auth/v1/user", headers=await bearer(env, user.session))).json()
    assert len(me["factors"]) == 1  # nothing was added


async def test_enrolling_again_replaces_an_unfinished_enrolment(env: ScenarioEnv) -> None:
    session = await signed_up(env, "ada@example.com")
    first = await enroll(env, session)
    second = await enroll(env, session)  # same (empty) name: the QR page was reloaded
    me = (await env.client.get("/auth/v1/user", headers=await bearer(env, session))).json()
    assert [f["id"] for f in me["factors"]] == [second["id"]] != [first["id"]]


async def test_too_many_factors(env: ScenarioEnv) -> None:
    await configure(env, mfa_max_enrolled_factors=2)
    session = await signed_up(env, "ada@example.com")
    await enroll(env, session, friendly_name="a")
    await enroll(env, session, friendly_name="b")
    response = await env.client.post(
        "/auth/v1/factors",
        headers=await bearer(env, session),
        json={"factor_type": "totp", "friendly_name": "c"},
    )
    assert response.status_code == 422 and error_code(response) == "too_many_enrolled_mfa_factors"


async def test_anonymous_users_cannot_enroll(env: ScenarioEnv) -> None:
    await configure(env, anonymous_users_enabled=True)
    response = await env.client.post("/auth/v1/signup", headers=await anon(env), json={})
    assert response.status_code == 200, response.text
    refused = await env.client.post(
        "/auth/v1/factors", headers=await bearer(env, response.json()), json={"factor_type": "totp"}
    )
    assert refused.status_code == 403 and error_code(refused) == "no_authorization"


async def test_unenroll(env: ScenarioEnv, clock: ManualClock) -> None:
    user = await mfa_user(env, clock, "ada@example.com")
    aal1 = await sign_in(env, "ada@example.com")
    url = f"/auth/v1/factors/{user.factor_id}"
    refused = await env.client.delete(url, headers=await bearer(env, aal1))
    assert refused.status_code == 422 and error_code(refused) == "insufficient_aal"
    deleted = await env.client.delete(url, headers=await bearer(env, user.session))
    assert deleted.status_code == 200 and deleted.json() == {"id": user.factor_id}
    assert env.hooks.counts["auth.factor.deleted"] == 1
    # the session the factor raised goes back to aal1 at its next refresh
    refreshed = await env.client.post(
        "/auth/v1/token?grant_type=refresh_token",
        headers=await anon(env),
        json={"refresh_token": user.session["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    lowered = await claims(env, refreshed.json()["access_token"])
    assert lowered["aal"] == "aal1" and [e["method"] for e in lowered["amr"]] == ["password"]
    assert refreshed.json()["user"]["factors"] == []
    again = await env.client.delete(url, headers=await bearer(env, refreshed.json()))
    assert again.status_code == 404 and error_code(again) == "mfa_factor_not_found"


async def test_an_unverified_factor_goes_at_aal1(env: ScenarioEnv) -> None:
    session = await signed_up(env, "ada@example.com")
    factor = await enroll(env, session)
    response = await env.client.delete(
        f"/auth/v1/factors/{factor['id']}", headers=await bearer(env, session)
    )
    assert response.status_code == 200 and response.json() == {"id": factor["id"]}


async def test_another_users_factor_is_not_found(env: ScenarioEnv, clock: ManualClock) -> None:
    ada = await mfa_user(env, clock, "ada@example.com")
    bob = await signed_up(env, "bob@example.com")
    headers = await bearer(env, bob)
    base = f"/auth/v1/factors/{ada.factor_id}"
    for method, url, body in [
        ("POST", f"{base}/challenge", {}),
        ("POST", f"{base}/verify", {"challenge_id": ada.factor_id, "code": "123456"}),
        ("DELETE", base, None),
    ]:
        response = await env.client.request(method, url, headers=headers, json=body)
        assert response.status_code == 404 and error_code(response) == "mfa_factor_not_found", url
    me = (await env.client.get("/auth/v1/user", headers=await bearer(env, ada.session))).json()
    assert [f["status"] for f in me["factors"]] == ["verified"]


async def test_a_policy_can_require_aal2(env: ScenarioEnv, clock: ManualClock) -> None:
    service = await env.key_headers("default", "service_role")
    created = await env.client.post(
        "/admin/v1/collections",
        headers=service,
        json={
            "name": "vault",
            "fields": [{"name": "title", "type": "text"}],
            "policies": {"select": '@auth.aal = "aal2"'},
            "grants": {"authenticated": ["select"]},
        },
    )
    assert created.status_code == 201, created.text
    inserted = await env.client.post("/rest/v1/vault", headers=service, json=[{"title": "x"}])
    assert inserted.status_code == 201, inserted.text
    user = await mfa_user(env, clock, "ada@example.com")
    aal1 = await sign_in(env, "ada@example.com")
    for session, expected in [(aal1, []), (user.session, [{"title": "x"}])]:
        rows = await env.client.get(
            "/rest/v1/vault?select=title", headers=await bearer(env, session)
        )
        assert rows.status_code == 200 and rows.json() == expected, rows.text
