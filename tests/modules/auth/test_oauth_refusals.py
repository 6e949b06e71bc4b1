"""What an OAuth/OIDC sign-in refuses: spoiled ID tokens, forged or replayed state, redirect
targets outside the allow-list, disabled providers, disabled sign-up, banned users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from apprun.core.clock import ManualClock
from apprun.testing import (
    ApiScenario,
    ScenarioEnv,
    as_anon,
    as_service,
    no_auth,
    raw_headers,
    scenarios,
)
from apprun.testing.oidc import OpenIdProvider
from tests.modules.auth.conftest import GOTRUE, bearer, configure, error_code, signed_up
from tests.modules.auth.oauth_helpers import (
    PROVIDERS,
    SITE,
    add_provider,
    authorize_url,
    browser,
    change_user,
    landing,
    set_site,
    user_row,
)

pytestmark = pytest.mark.anyio

SPOILED = [
    ("wrong_iss", "issuer"),
    ("wrong_aud", "another client"),
    ("bad_nonce", "nonce"),
    ("expired", "expired"),
    ("unknown_kid", "unknown key"),
    ("bad_signature", "signature"),
    ("no_id_token", "no ID token"),
]


@pytest.mark.parametrize(("mode", "reason"), SPOILED, ids=[m for m, _ in SPOILED])
async def test_a_spoiled_id_token_is_refused(
    env: ScenarioEnv, oidc_provider: OpenIdProvider, mode: str, reason: str
) -> None:
    await add_provider(env, oidc_provider)
    await oidc_provider.account("eve", email="eve@example.com", email_verified=True)
    await oidc_provider.tamper(mode)
    async with browser(env) as agent:
        response = await agent.sign_in(authorize_url(redirect_to=f"{SITE}/in"), "eve")
    base, query, fragment = landing(response)
    assert base == f"{SITE}/in"
    assert query["error"] == "invalid_request" and query["error_code"] == "bad_oauth_callback"
    assert reason in query["error_description"], query
    assert "access_token" not in fragment and fragment["error_code"] == "bad_oauth_callback"
    assert await user_row(env, "eve@example.com") is None
    assert env.hooks.counts["auth.user.signed_in"] == 0


async def state_of(env: ScenarioEnv, url: str) -> str:
    response = await env.client.get(url)
    assert response.status_code == 302, response.text
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))["state"]


async def test_forged_and_replayed_state(env: ScenarioEnv, oidc_provider: OpenIdProvider) -> None:
    await add_provider(env, oidc_provider)
    state = await state_of(env, authorize_url())
    flow_id, _, mac = state.partition(".")
    forged = [
        "",
        "not-a-state",
        f"{flow_id}.{mac[:-2]}xx",
        f"01a2331d-0000-7000-8000-000000000000.{mac}",
        f"{flow_id}",
    ]
    for bad in forged:
        response = await env.client.get(
            f"/auth/v1/callback?{urlencode({'code': 'c', 'state': bad})}", headers=GOTRUE
        )
        assert response.status_code == 400, (bad, response.text)
        assert error_code(response) == "bad_oauth_state", (bad, response.text)
    # The same flow in another project: the MAC binds the state to its project.
    admin = await env.admin_headers()
    await env.client.post("/admin/v1/projects", headers=admin, json={"id": "b2", "name": "B"})
    other = await env.client.get(f"/p/b2/auth/v1/callback?state={state}&code=c", headers=GOTRUE)
    assert other.status_code == 400 and error_code(other) == "bad_oauth_state"

    await oidc_provider.account("ray", email="ray@example.com", email_verified=True)
    async with browser(env) as agent:
        done = await agent.sign_in(authorize_url(), "ray")
    assert "access_token" in landing(done)[2]
    replayed_state = await state_of(env, authorize_url())
    first = await env.client.get(f"/auth/v1/callback?state={replayed_state}&code=bogus")
    assert landing(first)[1]["error_code"] == "bad_oauth_callback"  # the provider refused
    again = await env.client.get(f"/auth/v1/callback?state={replayed_state}&code=bogus")
    assert again.status_code == 400 and error_code(again) == "flow_state_already_used"


async def test_an_expired_flow(
    env: ScenarioEnv, oidc_provider: OpenIdProvider, clock: ManualClock
) -> None:
    await add_provider(env, oidc_provider)
    state = await state_of(env, authorize_url())
    clock.advance(11 * 60)
    response = await env.client.get(f"/auth/v1/callback?state={state}&code=c", headers=GOTRUE)
    assert response.status_code == 400 and error_code(response) == "bad_oauth_state"
    assert "expired" in response.json()["message"]


async def test_callback_without_a_code_or_with_a_refused_one(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    await add_provider(env, oidc_provider)
    state = await state_of(env, authorize_url(redirect_to=f"{SITE}/r"))
    no_code = landing(await env.client.get(f"/auth/v1/callback?state={state}"))
    assert no_code[0] == f"{SITE}/r"
    assert no_code[1]["error"] == "invalid_request"
    assert no_code[1]["error_code"] == "bad_oauth_callback"
    state = await state_of(env, authorize_url())
    refused = landing(await env.client.get(f"/auth/v1/callback?state={state}&code=nope"))
    assert "refused the authorization code" in refused[1]["error_description"]


async def test_the_user_cancels_at_the_provider(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    await add_provider(env, oidc_provider)
    async with browser(env) as agent:
        response = await agent.sign_in(authorize_url(), "nobody", abort=True)
    _, query, fragment = landing(response)
    assert query["error"] == "access_denied" and query["error_code"] == "bad_oauth_callback"
    assert fragment["error"] == "access_denied"


async def test_redirect_to_outside_the_allow_list_falls_back_to_the_site_url(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    await add_provider(env, oidc_provider)
    await configure(env, uri_allow_list=["https://*.trusted.example/**"])
    await oidc_provider.account("tim", email="tim@example.com", email_verified=True)
    async with browser(env) as agent:
        evil = await agent.sign_in(authorize_url(redirect_to="https://evil.example/x"), "tim")
        assert landing(evil)[0] == SITE
        allowed = "https://app.trusted.example/auth/cb"
        trusted = await agent.sign_in(authorize_url(redirect_to=allowed), "tim")
    base, _, fragment = landing(trusted)
    assert base == allowed and "access_token" in fragment


async def test_no_site_url_and_no_allowed_target(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    await add_provider(env, oidc_provider)
    service = await env.key_headers("default", "service_role")
    await env.client.patch("/admin/v1/settings", headers=service, json={"site_url": None})
    response = await env.client.get(authorize_url(redirect_to="https://x.example"), headers=GOTRUE)
    assert response.status_code == 400 and error_code(response) == "validation_failed"
    await set_site(env)


async def test_unknown_and_disabled_providers(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    await add_provider(env, oidc_provider)
    unknown = await env.client.get(authorize_url("nope"), headers=GOTRUE)
    assert unknown.status_code == 400 and error_code(unknown) == "validation_failed"
    assert unknown.json()["message"].startswith("Unsupported provider")
    missing = await env.client.get("/auth/v1/authorize")
    assert missing.status_code == 400 and missing.json()["error_code"] == "validation_failed"
    state = await state_of(env, authorize_url())  # started before the provider is disabled
    service = await env.key_headers("default", "service_role")
    patched = await env.client.patch(f"{PROVIDERS}/acme", headers=service, json={"enabled": False})
    assert patched.status_code == 200, patched.text
    disabled = await env.client.get(authorize_url(), headers=GOTRUE)
    assert disabled.status_code == 400 and error_code(disabled) == "provider_disabled"
    late = landing(await env.client.get(f"/auth/v1/callback?state={state}&code=c"))
    assert late[1]["error_code"] == "provider_disabled"


async def test_signup_disabled_refuses_new_users_only(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    await add_provider(env, oidc_provider)
    await oidc_provider.account("old", email="old@example.com", email_verified=True)
    await oidc_provider.account("new", email="new@example.com", email_verified=True)
    async with browser(env) as agent:
        assert "access_token" in landing(await agent.sign_in(authorize_url(), "old"))[2]
    await configure(env, disable_signup=True)
    async with browser(env) as agent:
        refused = landing(await agent.sign_in(authorize_url(), "new"))
    assert refused[1]["error"] == "access_denied"
    assert refused[1]["error_code"] == "signup_disabled"
    assert await user_row(env, "new@example.com") is None
    async with browser(env) as agent:
        assert "access_token" in landing(await agent.sign_in(authorize_url(), "old"))[2]


async def test_a_banned_user_is_refused(env: ScenarioEnv, oidc_provider: OpenIdProvider) -> None:
    await add_provider(env, oidc_provider)
    await oidc_provider.account("ban", email="ban@example.com", email_verified=True)
    async with browser(env) as agent:
        assert "access_token" in landing(await agent.sign_in(authorize_url(), "ban"))[2]
    row = await user_row(env, "ban@example.com")
    until = datetime.now(UTC) + timedelta(days=1)
    await change_user(env, row["id"], banned_until=until)
    async with browser(env) as agent:
        refused = landing(await agent.sign_in(authorize_url(), "ban"))
    assert refused[1]["error"] == "access_denied" and refused[1]["error_code"] == "user_banned"


AUTHORIZE = authorize_url(redirect_to=f"{SITE}/x")


AUTHORIZE_CASES = scenarios(
    ApiScenario("without a key", "GET", AUTHORIZE, auth=no_auth(), expected_status=302),
    ApiScenario("with the anon key", "GET", AUTHORIZE, auth=as_anon(), expected_status=302),
    ApiScenario("with the service key", "GET", AUTHORIZE, auth=as_service(), expected_status=302),
    ApiScenario(
        "with a forged key",
        "GET",
        AUTHORIZE,
        auth=raw_headers(apikey="forged"),
        expected_status=401,
    ),
    ApiScenario(
        "extra parameters named like the builder's arguments",
        "GET",
        AUTHORIZE + "&uri=u&client=c&kwargs=k",
        expected_status=302,
        expected_content=(),
    ),
    ApiScenario(
        "a half PKCE pair",
        "GET",
        AUTHORIZE + "&code_challenge_method=s256",
        expected_status=400,
        expected_content=('"validation_failed"',),
    ),
    ApiScenario(
        "scopes that are not scope tokens",
        "GET",
        AUTHORIZE + "&scopes=" + "%22quoted%22",
        expected_status=400,
        expected_content=('"validation_failed"',),
    ),
    ApiScenario(
        "a callback without state",
        "GET",
        "/auth/v1/callback?code=abc",
        expected_status=400,
        expected_content=('"bad_oauth_state"',),
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "a posted callback without state",
        "POST",
        "/auth/v1/callback",
        content=b"code=abc",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        expected_status=400,
        expected_content=('"bad_oauth_state"',),
    ),
)


@pytest.mark.parametrize("case", AUTHORIZE_CASES)
async def test_authorize_access(
    case: ApiScenario, env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    await add_provider(env, oidc_provider)
    response = await case.run(env)
    if response.status_code == 302:
        assert response.headers["location"].startswith(oidc_provider.issuer)


async def test_authorize_ignores_the_users_token(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    """supabase-py sends the signed-in user's token, maybe stale, with every request."""
    await add_provider(env, oidc_provider)
    session = await signed_up(env, "u@example.com")
    headers = await bearer(env, session)
    assert (await env.client.get(AUTHORIZE, headers=headers)).status_code == 302
    assert (await env.client.post("/auth/v1/logout", headers=headers)).status_code == 204
    assert (await env.client.get(AUTHORIZE, headers=headers)).status_code == 302


async def test_authorize_with_another_projects_key(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    await add_provider(env, oidc_provider)
    admin = await env.admin_headers()
    await env.client.post("/admin/v1/projects", headers=admin, json={"id": "c3", "name": "C"})
    headers = {**await env.key_headers("c3", "anon"), **GOTRUE}
    response = await env.client.get(AUTHORIZE, headers=headers)
    assert response.status_code == 400 and error_code(response) == "validation_failed"
