"""Password recovery, magic links and email codes (POST /otp), PKCE email links, the
per-address guard, and answers that do not tell who has an account."""

from __future__ import annotations

import anyio
import pytest

from apprun.core.clock import ManualClock
from apprun.testing import ScenarioEnv
from apprun.testing.smtp import SmtpServer
from tests.modules.auth.conftest import bearer, error_code, signed_up
from tests.modules.auth.emailkit import (
    SITE,
    VERIFIER,
    Redirect,
    amr_methods,
    password_grant,
    pkce,
    post,
    user_of,
    with_mail,
)

pytestmark = pytest.mark.anyio
NEW_PASSWORD = "another rather long passphrase"


async def test_recovery_then_new_password(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    await signed_up(env, "ada@example.com")
    await with_mail(env, smtp_server)
    asked = await post(env, "/recover", {"email": "ada@example.com"})
    assert asked.status_code == 200 and asked.json() == {}
    mail = smtp_server.last("ada@example.com")
    assert mail.subject == "Reset your password" and "type=recovery" in mail.link()
    verified = await post(
        env, "/verify", {"type": "recovery", "email": "ada@example.com", "token": mail.code()}
    )
    assert verified.status_code == 200, verified.text
    session = verified.json()
    assert amr_methods(session) == ["otp"] and session["user"]["recovery_sent_at"]
    # A fresh session: the new password needs neither the old one nor a nonce.
    changed = await env.client.put(
        "/auth/v1/user", headers=await bearer(env, session), json={"password": NEW_PASSWORD}
    )
    assert changed.status_code == 200, changed.text
    assert (await password_grant(env, "ada@example.com", NEW_PASSWORD)).status_code == 200
    old = await password_grant(env, "ada@example.com")
    assert old.status_code == 400 and error_code(old) == "invalid_credentials"


async def test_recovery_link(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    await signed_up(env, "bo@example.com")
    await with_mail(env, smtp_server)
    await post(env, f"/recover?redirect_to={SITE}/reset", {"email": "bo@example.com"})
    redirect = Redirect.of(await env.client.get(smtp_server.last("bo@example.com").link_path()))
    assert redirect.base == f"{SITE}/reset" and redirect.fragment["type"] == "recovery"
    assert (await user_of(env, redirect.session()))["email"] == "bo@example.com"


async def test_magic_link_and_code(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    await signed_up(env, "cy@example.com")
    await with_mail(env, smtp_server)
    sent = await post(env, "/otp", {"email": "cy@example.com", "create_user": False})
    assert sent.status_code == 200 and sent.json() == {}
    mail = smtp_server.last("cy@example.com")
    assert mail.subject == "Your sign-in link" and "type=magiclink" in mail.link()
    for verify_type in ("magiclink", "email"):  # supabase-js sends type "email" for codes
        code = smtp_server.last("cy@example.com").code()
        verified = await post(
            env, "/verify", {"type": verify_type, "email": "cy@example.com", "token": code}
        )
        assert verified.status_code == 200, verified.text
        await post(env, "/otp", {"email": "cy@example.com"})
    redirect = Redirect.of(await env.client.get(smtp_server.last("cy@example.com").link_path()))
    assert redirect.fragment["type"] == "magiclink"
    assert (await user_of(env, redirect.session()))["email"] == "cy@example.com"


async def test_otp_signs_up_an_unknown_address(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    await with_mail(env, smtp_server)
    refused = await post(env, "/otp", {"email": "new@example.com", "create_user": False})
    assert refused.status_code == 422 and error_code(refused) == "otp_disabled"
    before = env.hooks.counts.copy()
    sent = await post(env, "/otp", {"email": "new@example.com", "data": {"plan": "pro"}})
    assert sent.status_code == 200 and sent.json() == {}
    assert (env.hooks.counts - before)["auth.user.created"] == 1
    mail = smtp_server.last("new@example.com")
    assert mail.subject == "Confirm your email address"  # its code signs in too
    verified = await post(
        env, "/verify", {"type": "email", "email": "new@example.com", "token": mail.code()}
    )
    assert verified.status_code == 200, verified.text
    user = verified.json()["user"]
    assert user["email_confirmed_at"] and user["user_metadata"] == {"plan": "pro"}
    # No password was set: a password sign-in cannot succeed.
    blank = await password_grant(env, "new@example.com", "")
    assert blank.status_code == 400 and error_code(blank) == "invalid_credentials"

    await configure_signups(env, disabled=True)
    closed = await post(env, "/otp", {"email": "other@example.com"})
    assert closed.status_code == 422 and error_code(closed) == "signup_disabled"


async def configure_signups(env: ScenarioEnv, *, disabled: bool) -> None:
    headers = await env.key_headers("default", "service_role")
    response = await env.client.patch(
        "/admin/v1/auth/config", headers=headers, json={"disable_signup": disabled}
    )
    assert response.status_code == 200


async def test_unknown_and_known_addresses_get_the_same_answer(
    env: ScenarioEnv, smtp_server: SmtpServer
) -> None:
    await signed_up(env, "known@example.com")
    await with_mail(env, smtp_server)
    for path in ("/recover", "/otp"):
        known = await post(env, path, {"email": "known@example.com"})
        unknown = await post(env, path, {"email": "unknown@example.com"})
        assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
        assert known.status_code == 200 and known.json() == {}
    assert [m.subject for m in smtp_server.to("known@example.com")] == [
        "Reset your password", "Your sign-in link"
    ]  # fmt: skip
    # recover sends nothing to an unknown address; otp signs it up (create_user is true),
    # confirmed at once under auto-confirm, and mails it a magic link.
    assert [m.subject for m in smtp_server.to("unknown@example.com")] == ["Your sign-in link"]


async def test_per_address_guard(
    env: ScenarioEnv, smtp_server: SmtpServer, clock: ManualClock
) -> None:
    await signed_up(env, "dee@example.com")
    await with_mail(env, smtp_server, email_max_frequency_seconds=60)
    assert (await post(env, "/recover", {"email": "dee@example.com"})).status_code == 200
    for email in ("dee@example.com", "ghost@example.com", "ghost@example.com"):
        second = await post(env, "/recover", {"email": email})
        if email == "ghost@example.com" and second.status_code == 200:
            continue  # the first request for this unknown address
        assert second.status_code == 429, second.text
        assert error_code(second) == "over_email_send_rate_limit"
        assert "only request this after" in second.json()["message"]
    # A magic link shares the recovery interval, as in GoTrue.
    magic = await post(env, "/otp", {"email": "dee@example.com"})
    assert magic.status_code == 429
    assert len(smtp_server.to("dee@example.com")) == 1
    clock.advance(61)
    assert (await post(env, "/recover", {"email": "dee@example.com"})).status_code == 200
    assert len(smtp_server.to("dee@example.com")) == 2


async def test_unknown_address_guard_is_shared_and_expires(
    env: ScenarioEnv, smtp_server: SmtpServer
) -> None:
    """Unknown addresses have no row to stamp: the shared rate limiter (every worker's)
    remembers them, on real time."""
    await with_mail(env, smtp_server, email_max_frequency_seconds=1)
    assert (await post(env, "/recover", {"email": "ghost@example.com"})).status_code == 200
    again = await post(env, "/recover", {"email": "ghost@example.com"})
    assert again.status_code == 429 and error_code(again) == "over_email_send_rate_limit"
    await anyio.sleep(1.1)
    assert (await post(env, "/recover", {"email": "ghost@example.com"})).status_code == 200


async def test_pkce_recovery_link_gives_a_code(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    await signed_up(env, "pk@example.com")
    await with_mail(env, smtp_server)
    sent = await post(env, f"/recover?redirect_to={SITE}/cb", {"email": "pk@example.com", **pkce()})
    assert sent.status_code == 200, sent.text
    link = smtp_server.last("pk@example.com").link()
    assert "token=pkce_" in link
    redirect = Redirect.of(await env.client.get(smtp_server.last("pk@example.com").link_path()))
    assert redirect.base == f"{SITE}/cb" and not redirect.fragment
    code = redirect.query["code"]
    wrong = await post(
        env, "/token?grant_type=pkce", {"auth_code": code, "code_verifier": "x" * 50}
    )
    assert wrong.status_code == 400 and error_code(wrong) == "bad_code_verifier"
    right = await post(
        env, "/token?grant_type=pkce", {"auth_code": code, "code_verifier": VERIFIER}
    )
    assert right.status_code == 200, right.text
    assert amr_methods(right.json()) == ["recovery"]
    replay = await post(
        env, "/token?grant_type=pkce", {"auth_code": code, "code_verifier": VERIFIER}
    )
    assert replay.status_code == 404 and error_code(replay) == "flow_state_not_found"


async def test_pkce_signup_confirmation(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    await with_mail(env, smtp_server)
    body = {"email": "pks@example.com", "password": "a long and unusual passphrase", **pkce()}
    assert (await post(env, "/signup", body)).status_code == 200
    mail = smtp_server.last("pks@example.com")
    redirect = Redirect.of(await env.client.get(mail.link_path()))
    session = await post(
        env,
        "/token?grant_type=pkce",
        {"auth_code": redirect.query["code"], "code_verifier": VERIFIER},
    )
    assert session.status_code == 200, session.text
    assert amr_methods(session.json()) == ["email/signup"]
    assert session.json()["user"]["email_confirmed_at"]


async def test_pkce_link_failure_repeats_the_error_in_the_query(
    env: ScenarioEnv, smtp_server: SmtpServer
) -> None:
    await signed_up(env, "pf@example.com")
    await with_mail(env, smtp_server)
    await post(env, "/otp", {"email": "pf@example.com", **pkce()})
    path = smtp_server.last("pf@example.com").link_path()
    assert Redirect.of(await env.client.get(path)).query["code"]
    failed = Redirect.of(await env.client.get(path))
    assert failed.query["error_code"] == failed.fragment["error_code"] == "otp_expired"
    assert "code" not in failed.query


async def test_recover_refusals(env: ScenarioEnv) -> None:
    cases = [
        ({}, 400, "validation_failed"),
        ({"email": "not an address"}, 400, "email_address_invalid"),
        ({"email": "a@example.com", "code_challenge": "short", "code_challenge_method": "s256"},
         400, "validation_failed"),
        ({"email": "a@example.com", "code_challenge": "x" * 43}, 400, "validation_failed"),
    ]  # fmt: skip
    for body, status, code in cases:
        response = await post(env, "/recover", body)
        assert (response.status_code, error_code(response)) == (status, code), response.text
    bad = await env.client.post(
        "/auth/v1/recover", headers={"apikey": await env.key("default", "anon")}, content=b"[1"
    )
    assert bad.status_code == 400 and bad.json()["error_code"] == "bad_json"
    headers = await env.key_headers("default", "service_role")
    await env.client.patch(
        "/admin/v1/auth/config", headers=headers, json={"external_email_enabled": False}
    )
    off = await post(env, "/recover", {"email": "a@example.com"})
    assert error_code(off) == "email_provider_disabled"
    assert error_code(await post(env, "/otp", {"phone": "+15550001"})) == "phone_provider_disabled"
