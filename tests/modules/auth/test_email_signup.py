"""Sign-up with confirmation by email: the mail (through a real SMTP server), its code and its
link, resend, the user's locale, and a failing SMTP server."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest

from apprun.testing import ScenarioEnv
from apprun.testing.smtp import SMTP_USER, SmtpServer, free_port
from tests.modules.auth.conftest import error_code
from tests.modules.auth.emailkit import (
    SITE,
    Redirect,
    amr_methods,
    creds,
    password_grant,
    post,
    service,
    sign_up,
    user_of,
    with_mail,
)

pytestmark = pytest.mark.anyio


async def test_confirm_with_the_mailed_code(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    await with_mail(env, smtp_server)
    created = (await sign_up(env, "ada@example.com")).json()
    assert "access_token" not in created and created["confirmation_sent_at"]
    assert "email_confirmed_at" not in created
    refused = await password_grant(env, "ada@example.com")
    assert refused.status_code == 400 and error_code(refused) == "email_not_confirmed"

    mail = smtp_server.last("ada@example.com")
    assert mail.login == SMTP_USER and mail.subject == "Confirm your email address"
    assert mail.to == "ada@example.com" and "apprun tests" in str(mail.message["From"])
    assert mail.code() in mail.html and mail.link() in mail.text
    before = env.hooks.counts.copy()
    verified = await post(
        env, "/verify", {"type": "signup", "email": "Ada@Example.com", "token": mail.code()}
    )
    assert verified.status_code == 200, verified.text
    session = verified.json()
    assert session["user"]["email_confirmed_at"] and amr_methods(session) == ["otp"]
    assert session["user"]["identities"][0]["identity_data"]["email_verified"] is True
    fired = env.hooks.counts - before
    assert fired["auth.user.confirmed"] == 1 and fired["auth.user.signed_in"] == 1

    again = await post(env, "/verify", {"type": "signup", "email": "ada@example.com",
                                        "token": mail.code()})  # fmt: skip
    assert again.status_code == 403 and error_code(again) == "otp_expired"
    signed_in = await password_grant(env, "ada@example.com")
    assert signed_in.status_code == 200, signed_in.text


async def test_confirm_with_the_mailed_link(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    await with_mail(env, smtp_server)
    await post(env, f"/signup?redirect_to={SITE}/welcome", creds("bob@example.com"))
    mail = smtp_server.last("bob@example.com")
    assert "redirect_to=http%3A%2F%2Flocalhost%3A3000%2Fwelcome" in mail.link()
    # A browser navigation: no apikey, no headers.
    redirect = Redirect.of(await env.client.get(mail.link_path()))
    assert redirect.base == f"{SITE}/welcome"
    assert redirect.fragment["type"] == "signup" and redirect.fragment["token_type"] == "bearer"
    assert "sb" in redirect.fragment and int(redirect.fragment["expires_at"]) > 0
    user = await user_of(env, redirect.session())
    assert user["email"] == "bob@example.com" and user["email_confirmed_at"]

    reused = Redirect.of(await env.client.get(mail.link_path()))
    assert reused.base == f"{SITE}/welcome" and "access_token" not in reused.fragment
    assert reused.fragment["error"] == "access_denied"
    assert reused.fragment["error_code"] == "otp_expired"
    assert reused.fragment["error_description"] == "Email link is invalid or has expired"


async def test_a_link_cannot_redirect_elsewhere(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    await with_mail(env, smtp_server)
    await post(env, "/signup?redirect_to=https://evil.example/steal", creds("eve@example.com"))
    mail = smtp_server.last("eve@example.com")
    assert "evil.example" not in mail.link()
    # Anyone can edit a link's query: the target is checked again when it is followed.
    path, _, query = mail.link_path().partition("?")
    params = {**dict(parse_qsl(query)), "redirect_to": "https://evil.example/steal"}
    redirect = Redirect.of(await env.client.get(f"{path}?{urlencode(params)}"))
    assert redirect.base == SITE and "access_token" in redirect.fragment


async def test_the_mail_speaks_the_users_language(
    env: ScenarioEnv, smtp_server: SmtpServer
) -> None:
    await with_mail(env, smtp_server)
    await sign_up(env, "li@example.com", **{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    await sign_up(env, "jo@example.com", **{"Accept-Language": "fr-FR"})
    chinese = smtp_server.last("li@example.com")
    assert chinese.subject == "确认您的邮箱地址"
    assert 'lang="zh-CN"' in chinese.html and "验证码" in chinese.text
    english = smtp_server.last("jo@example.com")
    assert english.subject == "Confirm your email address" and 'lang="en"' in english.html
    # Later mails follow the locale stored at sign-up, whatever the next request says.
    await post(env, "/resend", {"type": "signup", "email": "li@example.com"})
    assert smtp_server.last("li@example.com").subject == "确认您的邮箱地址"


async def test_resend_replaces_the_code(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    await with_mail(env, smtp_server)
    await sign_up(env, "cy@example.com")
    first = smtp_server.last("cy@example.com").code()
    resent = await post(env, "/resend", {"type": "signup", "email": "cy@example.com"})
    assert resent.status_code == 200 and resent.json() == {}
    second = smtp_server.last("cy@example.com").code()
    assert len(smtp_server.to("cy@example.com")) == 2
    old = await post(env, "/verify", {"type": "signup", "email": "cy@example.com", "token": first})
    if first != second:
        assert old.status_code == 403 and error_code(old) == "otp_expired"
    ok = await post(env, "/verify", {"type": "email", "email": "cy@example.com", "token": second})
    assert ok.status_code == 200, ok.text
    # Confirmed or unknown: the same silent answer, and no mail.
    count = smtp_server.count()
    for email in ("cy@example.com", "nobody@example.com"):
        silent = await post(env, "/resend", {"type": "signup", "email": email})
        assert silent.status_code == 200 and silent.json() == {}
    assert smtp_server.count() == count
    for bad, code in (({"type": "sms", "phone": "+15550001"}, "phone_provider_disabled"),
                      ({"type": "nope", "email": "cy@example.com"}, "validation_failed"),
                      ({"type": "signup"}, "validation_failed")):  # fmt: skip
        refused = await post(env, "/resend", bad)
        assert refused.status_code == 400 and error_code(refused) == code, refused.text


async def test_a_failing_smtp_server_changes_nothing(
    env: ScenarioEnv, smtp_server: SmtpServer
) -> None:
    await with_mail(env, smtp_server)
    smtp = smtp_server.config(port=free_port())  # nothing listens there
    response = await env.client.patch(
        "/admin/v1/auth/config", headers=await service(env), json={"smtp": smtp}
    )
    assert response.status_code == 200
    failed = await post(env, "/signup", creds("dan@example.com"))
    assert failed.status_code == 500 and error_code(failed) == "email_send_failed", failed.text
    missing = await env.client.post(
        "/auth/v1/admin/generate_link",
        headers=await service(env),
        json={"type": "recovery", "email": "dan@example.com"},
    )
    assert missing.status_code == 404 and error_code(missing) == "user_not_found"

    await with_mail(env, smtp_server, email_max_frequency_seconds=60)
    created = await sign_up(env, "dan@example.com")
    assert created.json()["email"] == "dan@example.com"
    assert smtp_server.last("dan@example.com").subject == "Confirm your email address"


async def test_without_smtp_the_mail_is_logged(
    env: ScenarioEnv, caplog: pytest.LogCaptureFixture
) -> None:
    env.services.auth.links.mailer.dev = True  # what `apprun serve --dev` sets
    caplog.set_level("WARNING", logger="apprun.auth.mail")
    response = await post(env, "/signup", creds("dev@example.com"))
    assert response.status_code == 200, response.text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "dev@example.com" in logged and "Confirm your email address" in logged
    assert "/auth/v1/verify?token=" in logged and "type=signup" in logged

    env.services.auth.links.mailer.dev = False
    caplog.clear()
    response = await post(env, "/signup", creds("prod@example.com"))
    assert response.status_code == 200, response.text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "prod@example.com" in logged and "/verify?token=" not in logged
