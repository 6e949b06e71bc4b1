"""The mail templates (built-in and per project), the message the mailer builds, and SMTP
delivery failures."""

from __future__ import annotations

import pytest

from apprun.modules.auth import mailtemplates
from apprun.modules.auth.config import SmtpConfig
from apprun.modules.auth.errors import EmailSendFailed
from apprun.modules.auth.mailer import Mail, Mailer, build_message
from apprun.testing import ScenarioEnv
from apprun.testing.smtp import SmtpServer
from tests.modules.auth.conftest import signed_up
from tests.modules.auth.emailkit import post, service, with_mail

VARIABLES = {
    "confirmation_url": "http://x.test/auth/v1/verify?token=abc&type=signup",
    "token": "123456",
    "token_hash": "abc",
    "site_url": "http://localhost:3000",
    "email": "a@example.com",
    "new_email": "b@example.com",
    "redirect_to": "http://localhost:3000",
    "data": {"name": "<b>Ann</b>"},
}


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
@pytest.mark.parametrize("kind", mailtemplates.KINDS)
def test_every_builtin_template_renders(kind: str, locale: str) -> None:
    rendered = mailtemplates.render(kind, locale, VARIABLES)
    assert rendered.subject and "\n" not in rendered.subject
    assert "123456" in rendered.text and "123456" in rendered.html
    assert f'lang="{locale}"' in rendered.html
    if kind != "reauthentication":
        assert VARIABLES["confirmation_url"] in rendered.text
        # In HTML the link's & is escaped, as it must be inside an attribute.
        assert "verify?token=abc&amp;type=signup" in rendered.html


@pytest.mark.parametrize(
    ("asked", "chosen"), [("zh-CN", "zh-CN"), ("zh", "zh-CN"), ("fr-FR", "en"), (None, "en")]
)
def test_locale_choice(asked: str | None, chosen: str) -> None:
    assert mailtemplates.choose_locale(asked, list(mailtemplates.BUILTIN_LOCALES)) == chosen


def test_overrides_escape_html_not_text() -> None:
    overrides = {"en": {"subject": "Hi {{ data.name }}\nBcc: evil@example.com",
                        "html": "<p>{{ data.name }}</p>", "text": "{{ data.name }}"}}  # fmt: skip
    rendered = mailtemplates.render("recovery", "en", VARIABLES, overrides)
    assert rendered.html == "<p>&lt;b&gt;Ann&lt;/b&gt;</p>"
    assert rendered.text == "<b>Ann</b>"
    assert rendered.subject == "Hi <b>Ann</b> Bcc: evil@example.com"  # one header line


def test_an_override_for_another_locale_keeps_the_rest_english() -> None:
    rendered = mailtemplates.render("magic_link", "fr-CA", VARIABLES, {"fr": {"subject": "Salut"}})
    assert rendered.subject == "Salut" and "Follow this link" in rendered.text
    assert 'lang="fr"' in rendered.html


def test_a_failing_override_falls_back_to_the_builtin_part() -> None:
    overrides = {"en": {"subject": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
                        "text": "{{ 1 // 0 }}"}}  # fmt: skip
    rendered = mailtemplates.render("recovery", "en", VARIABLES, overrides)
    assert rendered.subject == "Reset your password"
    assert "Follow this link" in rendered.text


def test_syntax_errors_are_caught_when_saved() -> None:
    with pytest.raises(ValueError, match="html template"):
        mailtemplates.check("{% if %}", "html")
    mailtemplates.check("{{ token }}", "text")


SMTP = SmtpConfig(host="127.0.0.1", port=1, security="none", sender="me@apprun.test",
                  sender_name="Ünïcode Team")  # fmt: skip


def test_the_message() -> None:
    message = build_message(
        SMTP, Mail(to="a@example.com", subject="确认", text="t", html="<p>h</p>")
    )
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert str(message["Message-ID"]).endswith("@apprun.test>")
    assert "Ünïcode Team" in str(message["From"]) and str(message["Subject"]) == "确认"


@pytest.mark.anyio
async def test_smtp_refusals_raise_email_send_failed(smtp_server: SmtpServer) -> None:
    mailer = Mailer(timeout=5)
    mail = Mail(to="a@example.com", subject="s", text="t", html="h")
    for config in (
        SMTP,  # nothing listens on port 1
        SmtpConfig.model_validate({**smtp_server.config(), "password": "wrong"}),
    ):
        with pytest.raises(EmailSendFailed):
            await mailer.deliver("default", config, mail)
    await mailer.deliver("default", SmtpConfig.model_validate(smtp_server.config()), mail)
    assert smtp_server.last("a@example.com").login == smtp_server.user


@pytest.mark.anyio
async def test_project_templates_through_the_config_api(
    env: ScenarioEnv, smtp_server: SmtpServer
) -> None:
    await signed_up(env, "tpl@example.com")
    await with_mail(env, smtp_server)
    headers = await service(env)
    broken = {"email_templates": {"recovery": {"en": {"html": "{% for %}"}}}}
    refused = await env.client.patch("/admin/v1/auth/config", headers=headers, json=broken)
    assert refused.status_code == 422 and "html template" in refused.text
    unknown = {"email_templates": {"welcome": {"en": {"subject": "x"}}}}
    refused = await env.client.patch("/admin/v1/auth/config", headers=headers, json=unknown)
    assert refused.status_code == 422, refused.text
    config = (await env.client.get("/admin/v1/auth/config", headers=headers)).json()
    assert config["email_templates"] == {}

    text = "Code {{ token }} at {{ confirmation_url }}"
    custom = {"recovery": {"en": {"subject": "Reset for {{ email }}", "text": text}}}
    saved = await env.client.patch(
        "/admin/v1/auth/config", headers=headers, json={"email_templates": custom}
    )
    assert saved.status_code == 200, saved.text
    await post(env, "/recover", {"email": "tpl@example.com"})
    mail = smtp_server.last("tpl@example.com")
    assert mail.subject == "Reset for tpl@example.com"
    assert mail.text.startswith(f"Code {mail.code()} at http")
    assert "Reset my password" in mail.html  # the HTML part stays built-in
