"""Mail over STARTTLS and implicit TLS to a real server whose certificate a private CA
signed: delivered when the project trusts that CA, refused (nothing created) when not."""

from __future__ import annotations

import pytest

from apprun.testing import ScenarioEnv
from apprun.testing.smtp import SmtpServer
from tests.modules.auth.conftest import GOTRUE, configure, error_code
from tests.modules.auth.emailkit import creds, post

pytestmark = pytest.mark.anyio


async def test_mail_over_tls_with_the_projects_ca(
    env: ScenarioEnv, smtp_tls_server: SmtpServer
) -> None:
    await configure(env, smtp=smtp_tls_server.config(), email_max_frequency_seconds=0)
    signed_up = await post(env, "/signup", creds("tls@example.com"))
    assert signed_up.status_code == 200, signed_up.text
    mail = smtp_tls_server.last("tls@example.com")
    assert mail.login == smtp_tls_server.user  # logged in over the encrypted channel
    assert len(mail.code()) == 6


async def test_an_untrusted_certificate_is_refused(
    env: ScenarioEnv, smtp_tls_server: SmtpServer
) -> None:
    config = smtp_tls_server.config()
    del config["ca_certificate"]  # the system's CAs do not know the test CA
    await configure(env, smtp=config)
    refused = await post(env, "/signup", creds("tls@example.com"), **GOTRUE)
    assert refused.status_code == 500 and error_code(refused) == "email_send_failed"
    assert smtp_tls_server.count() == 0
    again = await post(env, "/recover", {"email": "tls@example.com"})
    assert again.status_code == 200  # the sign-up rolled back: an unknown address now


async def test_a_ca_that_is_not_pem_is_refused(env: ScenarioEnv) -> None:
    smtp = {"host": "127.0.0.1", "sender": "a@example.com", "ca_certificate": "not a certificate"}
    response = await env.client.patch(
        "/admin/v1/auth/config", headers=await env.key_headers("default", "service_role"),
        json={"smtp": smtp},
    )  # fmt: skip
    assert response.status_code == 422, response.text
    assert "ca_certificate" in response.text
