"""Unconfirmed accounts cannot be taken over: a second sign-up does not replace the first
password (and learns nothing of the account), and a password set by whoever signed up with
someone else's address does not survive the owner confirming it by a passwordless link."""

from __future__ import annotations

import pytest

from apprun.testing import ScenarioEnv
from apprun.testing.smtp import SmtpServer
from tests.modules.auth.emailkit import password_grant, post, with_mail

pytestmark = pytest.mark.anyio
VICTIM = "victim@example.com"
OWNERS, ATTACKERS = "the owner's long passphrase", "the attacker's long passphrase"


async def test_a_second_sign_up_keeps_the_first_password(
    env: ScenarioEnv, smtp_server: SmtpServer
) -> None:
    await with_mail(env, smtp_server)
    first = await post(env, "/signup", {"email": VICTIM, "password": OWNERS, "data": {"n": 1}})
    assert first.status_code == 200, first.text
    second = await post(env, "/signup", {"email": VICTIM, "password": ATTACKERS})
    assert second.status_code == 200, second.text
    assert second.json()["id"] != first.json()["id"]  # the decoy: nothing of the account
    assert second.json()["user_metadata"] == {}
    link = smtp_server.last(VICTIM).link_path()
    assert (await env.client.get(link)).status_code == 303  # the owner confirms
    assert (await password_grant(env, VICTIM, ATTACKERS)).status_code == 400
    assert (await password_grant(env, VICTIM, OWNERS)).status_code == 200


async def test_a_pre_registered_password_dies_with_a_magic_link(
    env: ScenarioEnv, smtp_server: SmtpServer
) -> None:
    await with_mail(env, smtp_server)
    squatted = await post(env, "/signup", {"email": VICTIM, "password": ATTACKERS})
    assert squatted.status_code == 200, squatted.text
    assert (await post(env, "/otp", {"email": VICTIM})).status_code == 200  # the owner
    redirect = await env.client.get(smtp_server.last(VICTIM).link_path())
    assert redirect.status_code == 303 and "access_token=" in redirect.headers["location"]
    refused = await password_grant(env, VICTIM, ATTACKERS)
    assert refused.status_code == 400, refused.text
