"""Changing the address (PUT /user with ``email``, plain and secure), and reauthentication
codes (GET /reauthenticate) as PUT /user's ``nonce``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from apprun.core.clock import ManualClock
from apprun.testing import ScenarioEnv
from apprun.testing.smtp import SmtpServer
from tests.modules.auth.conftest import PASSWORD, bearer, configure, error_code, signed_up
from tests.modules.auth.emailkit import (
    SITE,
    Redirect,
    password_grant,
    post,
    user_of,
    with_mail,
)

pytestmark = pytest.mark.anyio
NEW_PASSWORD = "another rather long passphrase"


async def put_user(env: ScenarioEnv, session: dict[str, Any], body: Any, query: str = "") -> Any:
    return await env.client.put(
        f"/auth/v1/user{query}", headers=await bearer(env, session), json=body
    )


async def test_plain_email_change(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    session = await signed_up(env, "old@example.com")
    await with_mail(env, smtp_server, secure_email_change=False)
    asked = await put_user(env, session, {"email": "New@Example.com"})
    assert asked.status_code == 200, asked.text
    user = asked.json()
    assert user["email"] == "old@example.com" and user["new_email"] == "new@example.com"
    assert user["email_change_sent_at"]
    assert smtp_server.to("old@example.com") == []
    mail = smtp_server.last("new@example.com")
    assert mail.subject == "Confirm your new email address"
    assert "from old@example.com to new@example.com" in mail.text
    before = env.hooks.counts.copy()
    verified = await post(env, "/verify", {"type": "email_change", "email": "new@example.com",
                                           "token": mail.code()})  # fmt: skip
    assert verified.status_code == 200, verified.text
    changed = verified.json()["user"]
    assert changed["email"] == "new@example.com" and "new_email" not in changed
    assert changed["identities"][0]["identity_data"]["email"] == "new@example.com"
    assert (env.hooks.counts - before)["auth.user.updated"] == 1
    assert (await password_grant(env, "new@example.com")).status_code == 200
    gone = await password_grant(env, "old@example.com")
    assert gone.status_code == 400 and error_code(gone) == "invalid_credentials"


async def test_secure_email_change_needs_both_addresses(
    env: ScenarioEnv, smtp_server: SmtpServer
) -> None:
    session = await signed_up(env, "me@example.com")
    await with_mail(env, smtp_server)  # secure_email_change is on by default, as in GoTrue
    asked = await put_user(env, session, {"email": "me2@example.com"}, f"?redirect_to={SITE}/x")
    assert asked.status_code == 200, asked.text
    current, new = smtp_server.last("me@example.com"), smtp_server.last("me2@example.com")
    assert current.code() != new.code() or current.link() != new.link()
    first = Redirect.of(await env.client.get(current.link_path()))
    assert first.base == f"{SITE}/x" and "access_token" not in first.fragment
    assert first.fragment["message"].startswith("Confirmation link accepted")
    assert (await user_of(env, session))["email"] == "me@example.com"
    second = await post(env, "/verify", {"type": "email_change", "email": "me2@example.com",
                                         "token": new.code()})  # fmt: skip
    assert second.status_code == 200 and second.json()["user"]["email"] == "me2@example.com"


async def test_secure_change_first_half_by_code(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    session = await signed_up(env, "half@example.com")
    await with_mail(env, smtp_server)
    await put_user(env, session, {"email": "half2@example.com"})
    code = smtp_server.last("half2@example.com").code()
    first = await post(env, "/verify", {"type": "email_change", "email": "half2@example.com",
                                        "token": code})  # fmt: skip
    assert first.status_code == 200
    assert first.json() == {
        "msg": "Confirmation link accepted. Please proceed to confirm link sent to the other email",
        "code": "200",
    }
    redirect = Redirect.of(await env.client.get(smtp_server.last("half@example.com").link_path()))
    assert (await user_of(env, redirect.session()))["email"] == "half2@example.com"


async def test_email_change_refusals(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    session = await signed_up(env, "a1@example.com")
    await signed_up(env, "taken@example.com")
    await with_mail(env, smtp_server, email_max_frequency_seconds=60, secure_email_change=False)
    taken = await put_user(env, session, {"email": "TAKEN@example.com"})
    assert taken.status_code == 422 and error_code(taken) == "email_exists"
    bad = await put_user(env, session, {"email": "not-an-address"})
    assert bad.status_code == 400 and error_code(bad) == "email_address_invalid"
    same = await put_user(env, session, {"email": "a1@example.com"})
    assert same.status_code == 200 and "new_email" not in same.json()
    assert (await put_user(env, session, {"email": "a2@example.com"})).status_code == 200
    again = await put_user(env, session, {"email": "a3@example.com"})
    assert again.status_code == 429 and error_code(again) == "over_email_send_rate_limit"
    assert (await user_of(env, session))["new_email"] == "a2@example.com"
    # Someone takes the new address before the change is confirmed.
    hashed = parse_qs(urlsplit(smtp_server.last("a2@example.com").link()).query)["token"][0]
    await signed_up(env, "a2@example.com")
    late = await post(env, "/verify", {"type": "email_change", "token_hash": hashed})
    assert late.status_code == 422 and error_code(late) == "email_exists", late.text
    assert (await user_of(env, session))["email"] == "a1@example.com"


async def test_resend_email_change(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    session = await signed_up(env, "rs@example.com")
    await with_mail(env, smtp_server, secure_email_change=False)
    await put_user(env, session, {"email": "rs2@example.com"})
    first = smtp_server.last("rs2@example.com").code()
    resent = await post(env, "/resend", {"type": "email_change", "email": "rs@example.com"})
    assert resent.status_code == 200 and resent.json() == {}
    assert len(smtp_server.to("rs2@example.com")) == 2
    second = smtp_server.last("rs2@example.com").code()
    ok = await post(env, "/verify", {"type": "email_change", "email": "rs2@example.com",
                                     "token": second})  # fmt: skip
    assert ok.status_code == 200, ok.text
    if first != second:
        old = await post(env, "/verify", {"type": "email_change", "email": "rs2@example.com",
                                          "token": first})  # fmt: skip
        assert old.status_code == 403


async def test_anonymous_user_adds_an_address(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    await with_mail(env, smtp_server, anonymous_users_enabled=True, mailer_autoconfirm=True)
    session = (await post(env, "/signup", {})).json()
    assert session["user"]["is_anonymous"] is True
    nonce = await env.client.get("/auth/v1/reauthenticate", headers=await bearer(env, session))
    assert nonce.status_code == 400 and error_code(nonce) == "validation_failed"
    added = await put_user(env, session, {"email": "anon@example.com"})
    assert added.status_code == 200, added.text
    user = added.json()
    assert user["email"] == "anon@example.com" and user["is_anonymous"] is False
    assert [i["provider"] for i in user["identities"]] == ["email"]
    assert smtp_server.count() == 0


async def refreshed_after(
    env: ScenarioEnv, clock: ManualClock, session: dict[str, Any], seconds: int
) -> dict[str, Any]:
    """The session ``seconds`` later: a new access token, the same sign-in time."""
    clock.advance(seconds)
    response = await post(
        env, "/token?grant_type=refresh_token", {"refresh_token": session["refresh_token"]}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_secure_password_change_needs_a_reauthentication_code(
    env: ScenarioEnv, smtp_server: SmtpServer, clock: ManualClock
) -> None:
    session = await signed_up(env, "sec@example.com")
    await with_mail(env, smtp_server, secure_password_change=True)
    session = await refreshed_after(env, clock, session, 25 * 3600)
    change = {"password": NEW_PASSWORD, "current_password": PASSWORD}
    needed = await put_user(env, session, change)
    assert needed.status_code == 400 and error_code(needed) == "reauthentication_needed"
    sent = await env.client.get("/auth/v1/reauthenticate", headers=await bearer(env, session))
    assert sent.status_code == 200 and sent.json() == {}
    mail = smtp_server.last("sec@example.com")
    assert mail.subject == "Confirm it is you" and "/verify?" not in mail.text
    code = mail.code()
    wrong = await put_user(env, session, {**change, "nonce": str((int(code) + 1) % 10**6).zfill(6)})
    assert wrong.status_code == 422 and error_code(wrong) == "reauthentication_not_valid"
    ok = await put_user(env, session, {"password": NEW_PASSWORD, "nonce": code})
    assert ok.status_code == 200, ok.text
    assert (await password_grant(env, "sec@example.com", NEW_PASSWORD)).status_code == 200
    reused = await put_user(env, session, {"password": "yet another long passphrase",
                                           "nonce": code})  # fmt: skip
    assert reused.status_code == 422 and error_code(reused) == "reauthentication_not_valid"


async def test_nonce_instead_of_current_password(
    env: ScenarioEnv, smtp_server: SmtpServer, clock: ManualClock
) -> None:
    session = await signed_up(env, "nn@example.com")
    await with_mail(env, smtp_server)
    session = await refreshed_after(env, clock, session, 25 * 3600)
    required = await put_user(env, session, {"password": NEW_PASSWORD})
    assert required.status_code == 400 and error_code(required) == "current_password_required"
    await env.client.get("/auth/v1/reauthenticate", headers=await bearer(env, session))
    code = smtp_server.last("nn@example.com").code()
    # A weak password is refused without using up the code.
    weak = await put_user(env, session, {"password": "short", "nonce": code})
    assert weak.status_code == 422 and error_code(weak) == "weak_password"
    ok = await put_user(env, session, {"password": NEW_PASSWORD, "nonce": code})
    assert ok.status_code == 200, ok.text


async def test_reauthentication_guard(
    env: ScenarioEnv, smtp_server: SmtpServer, clock: ManualClock
) -> None:
    session = await signed_up(env, "rg@example.com")
    await configure(env, email_max_frequency_seconds=60)
    await with_mail(env, smtp_server, email_max_frequency_seconds=60)
    headers = await bearer(env, session)
    assert (await env.client.get("/auth/v1/reauthenticate", headers=headers)).status_code == 200
    again = await env.client.get("/auth/v1/reauthenticate", headers=headers)
    assert again.status_code == 429 and error_code(again) == "over_email_send_rate_limit"
    clock.advance(61)
    assert (await env.client.get("/auth/v1/reauthenticate", headers=headers)).status_code == 200
