"""The service_role's email endpoints: POST /invite and POST /admin/generate_link."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from apprun.testing import ScenarioEnv
from apprun.testing.smtp import SmtpServer
from tests.modules.auth.conftest import PASSWORD, bearer, configure, error_code, signed_up
from tests.modules.auth.emailkit import (
    SITE,
    Redirect,
    password_grant,
    post,
    service,
    user_of,
    with_mail,
)

pytestmark = pytest.mark.anyio
GENERATED = ("action_link", "email_otp", "hashed_token", "verification_type", "redirect_to")


async def admin_post(env: ScenarioEnv, path: str, body: Any, query: str = "") -> httpx.Response:
    return await env.client.post(f"/auth/v1{path}{query}", headers=await service(env), json=body)


async def test_invite_then_set_a_password(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    await with_mail(env, smtp_server)
    before = env.hooks.counts.copy()
    invited = await admin_post(env, "/invite", {"email": "new@example.com", "data": {"team": 7}},
                               f"?redirect_to={SITE}/join")  # fmt: skip
    assert invited.status_code == 200, invited.text
    user = invited.json()
    assert user["invited_at"] and user["user_metadata"] == {"team": 7}
    assert "email_confirmed_at" not in user and "access_token" not in user
    assert (env.hooks.counts - before)["auth.user.created"] == 1
    mail = smtp_server.last("new@example.com")
    assert mail.subject == "You have been invited" and "type=invite" in mail.link()
    redirect = Redirect.of(await env.client.get(mail.link_path()))
    assert redirect.base == f"{SITE}/join" and redirect.fragment["type"] == "invite"
    session = redirect.session()
    assert (await user_of(env, session))["email_confirmed_at"]
    set_password = await env.client.put(
        "/auth/v1/user", headers=await bearer(env, session), json={"password": PASSWORD}
    )
    assert set_password.status_code == 200, set_password.text
    assert (await password_grant(env, "new@example.com")).status_code == 200
    again = await admin_post(env, "/invite", {"email": "new@example.com"})
    assert again.status_code == 422 and error_code(again) == "email_exists"


async def test_invite_again_before_acceptance(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    await with_mail(env, smtp_server, disable_signup=True)  # admins still invite
    for _ in range(2):
        assert (await admin_post(env, "/invite", {"email": "tw@example.com"})).status_code == 200
    first, second = smtp_server.to("tw@example.com")
    verified = await post(env, "/verify", {"type": "invite", "email": "tw@example.com",
                                           "token": second.code()})  # fmt: skip
    assert verified.status_code == 200, verified.text
    for bad in ({}, {"email": "nope"}):
        refused = await admin_post(env, "/invite", bad)
        assert refused.status_code == 400, refused.text
    del first


def check_generated(body: dict[str, Any], verification_type: str, email: str) -> None:
    for key in GENERATED:
        assert isinstance(body[key], str), key
    assert body["verification_type"] == verification_type and body["email"] == email
    assert body["id"] and body["aud"] == "authenticated" and len(body["email_otp"]) == 6
    assert f"token={body['hashed_token']}" in body["action_link"]
    assert f"type={verification_type}" in body["action_link"]


@pytest.mark.parametrize(
    ("link_type", "existing", "verification_type"),
    [
        ("signup", False, "signup"),
        ("invite", False, "invite"),
        ("magiclink", True, "magiclink"),
        ("magiclink", False, "signup"),
        ("recovery", True, "recovery"),
    ],
)
async def test_generate_link(
    env: ScenarioEnv,
    smtp_server: SmtpServer,
    link_type: str,
    existing: bool,
    verification_type: str,
) -> None:
    if existing:
        await signed_up(env, "gl@example.com")
    await with_mail(env, smtp_server, mailer_autoconfirm=False)
    body = {"type": link_type, "email": "gl@example.com", "password": PASSWORD}
    response = await admin_post(env, "/admin/generate_link", body, f"?redirect_to={SITE}/in")
    assert response.status_code == 200, response.text
    generated = response.json()
    check_generated(generated, verification_type, "gl@example.com")
    assert generated["redirect_to"] == f"{SITE}/in"
    assert smtp_server.count() == 0  # generate_link sends nothing
    if link_type == "signup":  # the password given is the user's
        refused = await password_grant(env, "gl@example.com")
        assert error_code(refused) == "email_not_confirmed"
    by_hash = await post(env, "/verify", {"type": verification_type,
                                          "token_hash": generated["hashed_token"]})  # fmt: skip
    assert by_hash.status_code == 200, by_hash.text
    assert by_hash.json()["user"]["email_confirmed_at"]
    if link_type == "signup":
        assert (await password_grant(env, "gl@example.com")).status_code == 200


async def test_generated_link_and_code_work(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    await signed_up(env, "lk@example.com")
    await with_mail(env, smtp_server)
    first = (await admin_post(env, "/admin/generate_link",
                              {"type": "magiclink", "email": "lk@example.com"})).json()  # fmt: skip
    path = first["action_link"].split("://", 1)[1].split("/", 1)[1]
    redirect = Redirect.of(await env.client.get("/" + path))
    assert redirect.base == SITE and redirect.fragment["type"] == "magiclink"
    second = (await admin_post(env, "/admin/generate_link",
                               {"type": "recovery", "email": "lk@example.com"})).json()  # fmt: skip
    by_code = await post(env, "/verify", {"type": "recovery", "email": "lk@example.com",
                                          "token": second["email_otp"]})  # fmt: skip
    assert by_code.status_code == 200, by_code.text


@pytest.mark.parametrize("secure", [True, False])
async def test_generate_email_change_links(
    env: ScenarioEnv, smtp_server: SmtpServer, secure: bool
) -> None:
    await signed_up(env, "ch@example.com")
    await with_mail(env, smtp_server, secure_email_change=secure)
    body = {"email": "ch@example.com", "new_email": "ch2@example.com"}
    new = await admin_post(env, "/admin/generate_link", {**body, "type": "email_change_new"})
    assert new.status_code == 200, new.text
    check_generated(new.json(), "email_change", "ch@example.com")
    assert new.json()["new_email"] == "ch2@example.com"
    verified = await post(env, "/verify", {"type": "email_change", "email": "ch2@example.com",
                                           "token": new.json()["email_otp"]})  # fmt: skip
    assert verified.status_code == 200, verified.text
    if not secure:
        assert verified.json()["user"]["email"] == "ch2@example.com"
        return
    assert verified.json()["code"] == "200"  # the current address has yet to confirm
    current = await admin_post(
        env, "/admin/generate_link", {**body, "type": "email_change_current"}
    )
    done = await post(env, "/verify", {"type": "email_change",
                                       "token_hash": current.json()["hashed_token"]})  # fmt: skip
    # The same change asked again: only the current address's token is new.
    assert done.status_code == 200, done.text
    assert done.json()["user"]["email"] == "ch2@example.com"


async def test_generate_link_refusals(env: ScenarioEnv) -> None:
    await signed_up(env, "ex@example.com")
    await signed_up(env, "other@example.com")
    await configure(env, mailer_autoconfirm=False)
    cases = [
        ({"type": "bogus", "email": "ex@example.com"}, 400, "validation_failed"),
        ({"type": "recovery"}, 400, "validation_failed"),
        ({"type": "recovery", "email": "ghost@example.com"}, 404, "user_not_found"),
        ({"type": "email_change_new", "email": "ghost@example.com", "new_email": "g2@example.com"},
         404, "user_not_found"),
        ({"type": "email_change_new", "email": "ex@example.com"}, 400, "validation_failed"),
        ({"type": "email_change_new", "email": "ex@example.com",
          "new_email": "other@example.com"}, 422, "email_exists"),
        ({"type": "signup", "email": "ex@example.com"}, 422, "email_exists"),
        ({"type": "invite", "email": "ex@example.com"}, 422, "email_exists"),
        ({"type": "signup", "email": "big@example.com", "password": "x" * 2000},
         400, "validation_failed"),
    ]  # fmt: skip
    for body, status, code in cases:
        response = await admin_post(env, "/admin/generate_link", body)
        assert (response.status_code, error_code(response)) == (status, code), (body, response.text)
