"""One-time tokens that must not work (expired, used, wrong, tampered, of another type, for a
banned user), refusals of malformed requests, and who may call each email endpoint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest

from apprun.core.clock import ManualClock
from apprun.modules.auth import store
from apprun.testing import ScenarioEnv
from apprun.testing.scenario import ApiScenario, as_admin, as_anon, as_service, no_auth, scenarios
from apprun.testing.smtp import SmtpServer
from tests.modules.auth.conftest import anon, bearer, error_code, signed_up
from tests.modules.auth.emailkit import (
    SITE,
    Redirect,
    creds,
    post,
    set_site,
    sign_up,
    with_mail,
)

pytestmark = pytest.mark.anyio
HASH_OF_NOTHING = "0" * 56


async def test_expired_code_and_link(
    env: ScenarioEnv, smtp_server: SmtpServer, clock: ManualClock
) -> None:
    await with_mail(env, smtp_server, otp_expiry_seconds=600)
    await sign_up(env, "old@example.com")
    mail = smtp_server.last("old@example.com")
    clock.advance(601)
    late = await post(env, "/verify", {"type": "signup", "email": "old@example.com",
                                       "token": mail.code()})  # fmt: skip
    assert late.status_code == 403 and error_code(late) == "otp_expired"
    redirect = Redirect.of(await env.client.get(mail.link_path()))
    assert redirect.fragment["error_code"] == "otp_expired"
    assert redirect.fragment["error"] == "access_denied"
    # A new mail brings a new, working code.
    await post(env, "/resend", {"type": "signup", "email": "old@example.com"})
    fresh = smtp_server.last("old@example.com").code()
    ok = await post(env, "/verify", {"type": "signup", "email": "old@example.com", "token": fresh})
    assert ok.status_code == 200, ok.text


async def test_wrong_tampered_and_mistyped_tokens(
    env: ScenarioEnv, smtp_server: SmtpServer
) -> None:
    await with_mail(env, smtp_server)
    await sign_up(env, "tt@example.com")
    mail = smtp_server.last("tt@example.com")
    code = mail.code()
    hashed = mail.link().split("token=")[1].split("&")[0]
    wrong_code = str((int(code) + 1) % 10**6).zfill(6)
    tampered = hashed[:-1] + ("0" if hashed[-1] != "0" else "1")
    for body in (
        {"type": "signup", "email": "tt@example.com", "token": wrong_code},
        {"type": "signup", "email": "someone@example.com", "token": code},
        {"type": "signup", "token_hash": tampered},
        {"type": "recovery", "token_hash": hashed},
        {"type": "magiclink", "email": "tt@example.com", "token": code},
    ):
        refused = await post(env, "/verify", body)
        assert refused.status_code == 403 and error_code(refused) == "otp_expired", body
        assert refused.json()["message"] == "Token has expired or is invalid."
    ok = await post(env, "/verify", {"type": "signup", "token_hash": hashed})
    assert ok.status_code == 200, ok.text
    used = await post(env, "/verify", {"type": "signup", "token_hash": hashed})
    assert used.status_code == 403 and error_code(used) == "otp_expired"


async def test_a_banned_user_cannot_verify(env: ScenarioEnv, smtp_server: SmtpServer) -> None:
    session = await signed_up(env, "ban@example.com")
    await with_mail(env, smtp_server)
    await post(env, "/otp", {"email": "ban@example.com"})
    db = env.services.auth.kernel.tenancy.project_db(
        await env.services.platform.placement("default")
    )
    async with db.tx() as conn:
        now = env.services.clock.now()
        await store.update_user(
            conn, session["user"]["id"], {"banned_until": now.replace(year=now.year + 1)}
        )
    code = smtp_server.last("ban@example.com").code()
    banned = await post(env, "/verify", {"type": "magiclink", "email": "ban@example.com",
                                         "token": code})  # fmt: skip
    assert banned.status_code == 403 and error_code(banned) == "user_banned"


async def test_malformed_verify_requests(env: ScenarioEnv) -> None:
    cases: list[tuple[Any, str]] = [
        ({}, "validation_failed"),
        ({"type": "bogus", "token_hash": HASH_OF_NOTHING}, "validation_failed"),
        ({"type": "signup"}, "validation_failed"),
        ({"type": "signup", "token": "123456"}, "validation_failed"),
        ({"type": "sms", "phone": "+15550001", "token": "123456"}, "phone_provider_disabled"),
        ({"type": "signup", "token": "123456", "email": "nope"}, "email_address_invalid"),
        ({"type": 5, "token_hash": HASH_OF_NOTHING}, "bad_json"),
    ]
    for body, code in cases:
        response = await post(env, "/verify", body)
        assert response.status_code == 400 and error_code(response) == code, (body, response.text)


async def test_get_verify_with_a_bad_link(env: ScenarioEnv) -> None:
    unset = await env.client.get("/auth/v1/verify?type=bogus&token=x")
    assert unset.status_code == 303 and unset.headers["location"].startswith("http://")
    await set_site(env)
    redirect = Redirect.of(await env.client.get("/auth/v1/verify?type=bogus&token=x"))
    assert redirect.base == SITE and redirect.fragment["error"] == "invalid_request"
    assert redirect.fragment["error_code"] == "validation_failed"
    missing = Redirect.of(await env.client.get(f"/auth/v1/verify?type=signup&token={'a' * 56}"))
    assert missing.fragment["error_code"] == "otp_expired"


async def test_tokens_of_one_project_do_not_work_in_another(
    env: ScenarioEnv, smtp_server: SmtpServer
) -> None:
    await env.client.post(
        "/admin/v1/projects", headers=await env.admin_headers(), json={"id": "other", "name": "O"}
    )
    await with_mail(env, smtp_server)
    await sign_up(env, "iso@example.com")
    mail = smtp_server.last("iso@example.com")
    elsewhere = await post(env, "/verify", {"type": "signup", "email": "iso@example.com",
                                            "token": mail.code()}, project="other")  # fmt: skip
    assert elsewhere.status_code == 403 and error_code(elsewhere) == "otp_expired"
    assert "/p/other/" not in mail.link()
    other = Redirect.of(await env.client.get("/p/other" + mail.link_path()))
    assert other.fragment["error_code"] == "otp_expired"


@dataclass(frozen=True)
class AsUser:
    """A signed-in end user of ``project`` (supabase-js sends the apikey beside the token)."""

    email: str
    project: str = "default"

    async def headers(self, env: ScenarioEnv) -> dict[str, str]:
        session = await signed_up(env, self.email, project=self.project)
        return await bearer(env, session, self.project)


async def other_project(env: ScenarioEnv) -> None:
    response = await env.client.post(
        "/admin/v1/projects", headers=await env.admin_headers(), json={"id": "other", "name": "O"}
    )
    assert response.status_code in (200, 201), response.text


async def user_in_default(env: ScenarioEnv) -> None:
    await other_project(env)
    await signed_up(env, "owner@example.com")


PUBLIC = [
    ("recover", {"email": "x@example.com"}, 200),
    ("otp", {"email": "x@example.com"}, 200),
    ("resend", {"type": "signup", "email": "x@example.com"}, 200),
    ("verify", {"type": "signup", "token_hash": HASH_OF_NOTHING}, 403),
]
CALLERS = [
    ("no key", no_auth(), None),
    ("anon key", as_anon(), "default"),
    ("signed-in user", AsUser("caller@example.com"), "default"),
    ("other project", as_anon("other"), "other"),
    ("service_role", as_service(), "default"),
]


def _public_cases() -> list[ApiScenario]:
    cases = []
    for path, body, status in PUBLIC:
        for who, auth, _project in CALLERS:
            cases.append(ApiScenario(
                f"POST /{path} as {who}", "POST", f"/auth/v1/{path}", auth=auth, json=body,
                expected_status=401 if _project is None else status, setup=other_project,
            ))  # fmt: skip
    return cases


ACCESS = scenarios(
    *_public_cases(),
    *[
        ApiScenario(f"POST /invite as {who}", "POST", "/auth/v1/invite", auth=auth,
                    json={"email": "inv@example.com"}, expected_status=status, setup=other_project,
                    expected_hooks={"auth.user.created": 1 if status == 200 else 0})
        for who, auth, status in [
            ("no key", no_auth(), 401), ("anon key", as_anon(), 403),
            ("signed-in user", AsUser("u@example.com"), 403),
            ("other project's service_role", as_service("other"), 200),
            ("service_role", as_service(), 200), ("platform admin", as_admin(), 200),
        ]
    ],
    *[
        ApiScenario(f"POST /admin/generate_link as {who}", "POST", "/auth/v1/admin/generate_link",
                    auth=auth, json={"type": "recovery", "email": "owner@example.com"},
                    expected_status=status, setup=user_in_default,
                    expected_content=('"action_link"',) if status == 200 else ())
        for who, auth, status in [
            ("no key", no_auth(), 401), ("anon key", as_anon(), 403),
            ("signed-in user", AsUser("u@example.com"), 403),
            ("other project's service_role", as_service("other"), 404),
            ("service_role", as_service(), 200),
        ]
    ],
    *[
        ApiScenario(f"GET /reauthenticate as {who}", "GET", "/auth/v1/reauthenticate",
                    auth=auth, expected_status=status, setup=other_project)
        for who, auth, status in [
            ("no key", no_auth(), 401), ("anon key", as_anon(), 401),
            ("signed-in user", AsUser("u@example.com"), 200),
            ("other project's user", AsUser("u@example.com", "other"), 200),
            ("service_role", as_service(), 401),
        ]
    ],
    ApiScenario("GET /verify needs no key (a mailed link)", "GET",
                "/auth/v1/verify?type=signup&token=abc", expected_status=303),
)  # fmt: skip


@pytest.mark.parametrize("case", ACCESS)
async def test_who_may_call(case: ApiScenario, env: ScenarioEnv) -> None:
    response = await case.run(env)
    if response.status_code == 401:
        assert error_code(response) in ("no_authorization", "unauthorized"), response.text


async def test_public_endpoints_ignore_a_stale_bearer(env: ScenarioEnv) -> None:
    session = await signed_up(env, "stale@example.com")
    headers = await bearer(env, session)
    await env.client.post("/auth/v1/logout", headers=headers)
    response = await env.client.post(
        "/auth/v1/recover", headers=headers, json={"email": "stale@example.com"}
    )
    assert response.status_code == 200, response.text
    assert (await anon(env))["apikey"] == headers["apikey"]


async def test_a_guessed_code_cannot_be_tried_as_a_hash(
    env: ScenarioEnv, smtp_server: SmtpServer
) -> None:
    """Token hashes are keyed: knowing the address and the code (or guessing it) does not give
    the hash, so guesses must name the address, where the per-address delays apply."""
    await with_mail(env, smtp_server)
    assert (await post(env, "/signup", creds("hash@example.com"))).status_code == 200
    mail = smtp_server.last("hash@example.com")
    unkeyed = hashlib.sha224(f"hash@example.com{mail.code()}".encode()).hexdigest()
    guessed = await post(env, "/verify", {"type": "signup", "token_hash": unkeyed})
    assert guessed.status_code == 403, guessed.text
    linked = mail.link().split("token=", 1)[1].split("&", 1)[0]
    assert linked != unkeyed and len(linked) == 56
    assert (await post(env, "/verify", {"type": "signup", "token_hash": linked})).status_code == 200
