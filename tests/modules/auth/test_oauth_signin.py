"""Sign-in with an OpenID Provider: a real one (oidc-provider on Node) and a headless browser
going through its login and consent pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qsl, urlsplit

import pytest
from supabase_auth import AsyncGoTrueClient

from apprun.testing import ScenarioEnv
from apprun.testing.oidc import OpenIdProvider
from tests.modules.auth.conftest import GOTRUE, anon, configure, error_code, signed_up
from tests.modules.auth.oauth_helpers import (
    SITE,
    add_provider,
    authorize_url,
    browser,
    change_user,
    identities_of,
    landing,
    user_row,
)

pytestmark = pytest.mark.anyio


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def me(env: ScenarioEnv, access_token: str) -> dict[str, object]:
    headers = {**await anon(env), "Authorization": f"Bearer {access_token}"}
    response = await env.client.get("/auth/v1/user", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_sign_in_creates_the_user_then_reuses_the_identity(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    await add_provider(env, oidc_provider)
    await oidc_provider.account(
        "alice",
        email="Alice@Example.com",
        email_verified=True,
        name="Alice Liddell",
        picture="https://img.example/a.png",
    )
    async with browser(env) as agent:
        first = await agent.sign_in(authorize_url(redirect_to=f"{SITE}/welcome"), "alice")
        assert agent.consents == 1
    base, query, fragment = landing(first)
    assert base == f"{SITE}/welcome" and query == {}
    user = await me(env, fragment["access_token"])
    assert user["email"] == "alice@example.com"
    assert user["app_metadata"] == {"provider": "acme", "providers": ["acme"], "roles": []}
    assert user["user_metadata"]["full_name"] == "Alice Liddell"  # type: ignore[index]
    assert "email_confirmed_at" in user
    [identity] = user["identities"]  # type: ignore[misc]
    assert identity["provider"] == "acme" and identity["id"] == "alice"
    assert identity["identity_data"]["email_verified"] is True
    assert identity["identity_data"]["avatar_url"] == "https://img.example/a.png"
    assert env.hooks.counts["auth.user.created"] == 1

    await oidc_provider.account(
        "alice", email="alice@example.com", email_verified=True, name="Alice L."
    )
    async with browser(env) as agent:
        second = await agent.sign_in(authorize_url(redirect_to=f"{SITE}/welcome"), "alice")
    again = await me(env, landing(second)[2]["access_token"])
    assert again["id"] == user["id"]
    assert len(again["identities"]) == 1  # type: ignore[arg-type]
    assert again["user_metadata"]["full_name"] == "Alice L."  # type: ignore[index]
    assert env.hooks.counts["auth.user.created"] == 1
    assert env.hooks.counts["auth.user.signed_in"] == 2


async def test_the_implicit_flow_puts_the_session_in_the_fragment(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    await add_provider(env, oidc_provider)
    await oidc_provider.account("ivy", email="ivy@example.com", email_verified=True)
    async with browser(env) as agent:
        response = await agent.sign_in(authorize_url(redirect_to=f"{SITE}/cb?keep=1"), "ivy")
    base, query, fragment = landing(response)
    assert base == f"{SITE}/cb" and query == {"keep": "1"}
    assert list(fragment) == [
        "access_token",
        "expires_at",
        "expires_in",
        "refresh_token",
        "token_type",
        "provider_token",
        "sb",
    ]
    assert fragment["token_type"] == "bearer" and fragment["expires_in"] == "3600"
    assert int(fragment["expires_at"]) > 0 and fragment["sb"] == ""
    refreshed = await env.client.post(
        "/auth/v1/token?grant_type=refresh_token",
        headers=await anon(env),
        json={"refresh_token": fragment["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["user"]["email"] == "ivy@example.com"


async def test_the_pkce_flow_ends_with_grant_type_pkce(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    await add_provider(env, oidc_provider)
    await oidc_provider.account("pat", email="pat@example.com", email_verified=True)
    verifier, challenge = pkce()
    url = authorize_url(
        redirect_to=f"{SITE}/done", code_challenge=challenge, code_challenge_method="s256"
    )
    async with browser(env) as agent:
        response = await agent.sign_in(url, "pat")
    base, query, fragment = landing(response)
    assert base == f"{SITE}/done" and fragment == {} and list(query) == ["code"]
    assert env.hooks.counts["auth.user.signed_in"] == 0  # not before the exchange
    token = "/auth/v1/token?grant_type=pkce"
    wrong = await env.client.post(
        token, headers=await anon(env), json={"auth_code": query["code"], "code_verifier": "x" * 43}
    )
    assert wrong.status_code == 400 and error_code(wrong) == "bad_code_verifier", wrong.text
    body = {"auth_code": query["code"], "code_verifier": verifier}
    exchanged = await env.client.post(token, headers=await anon(env), json=body)
    assert exchanged.status_code == 200, exchanged.text
    session = exchanged.json()
    assert session["user"]["email"] == "pat@example.com" and session["provider_token"]
    assert env.hooks.counts["auth.user.signed_in"] == 1
    replay = await env.client.post(token, headers=await anon(env), json=body)
    assert replay.status_code == 404 and error_code(replay) == "flow_state_not_found"


async def test_a_verified_email_links_to_the_existing_account(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    existing = await signed_up(env, "bob@example.com")
    await add_provider(env, oidc_provider)
    await oidc_provider.account("bob-at-acme", email="bob@example.com", email_verified=True)
    async with browser(env) as agent:
        response = await agent.sign_in(authorize_url(), "bob-at-acme")
    user = await me(env, landing(response)[2]["access_token"])
    assert user["id"] == existing["user"]["id"]
    providers = sorted(i["provider"] for i in user["identities"])  # type: ignore[attr-defined]
    assert providers == ["acme", "email"]
    assert user["app_metadata"]["providers"] == ["email", "acme"]  # type: ignore[index]
    assert env.hooks.counts["auth.user.created"] == 1  # the sign-up only


async def test_linking_confirms_an_unconfirmed_account_and_drops_its_password(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    await configure(env, mailer_autoconfirm=True)
    session = await signed_up(env, "una@example.com")
    await change_user(env, session["user"]["id"], email_confirmed_at=None)
    await add_provider(env, oidc_provider)
    await oidc_provider.account("una", email="una@example.com", email_verified=True)
    async with browser(env) as agent:
        response = await agent.sign_in(authorize_url(), "una")
    assert "access_token" in landing(response)[2]
    row = await user_row(env, "una@example.com")
    assert row["email_confirmed_at"] is not None and row["encrypted_password"] is None
    password = await env.client.post(
        "/auth/v1/token?grant_type=password",
        headers=await anon(env),
        json={"email": "una@example.com", "password": "a long and unusual passphrase"},
    )
    assert password.status_code == 400 and error_code(password) == "invalid_credentials"


async def test_an_unverified_email_does_not_link(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    existing = await signed_up(env, "carol@example.com")
    await add_provider(env, oidc_provider)
    await oidc_provider.account("mallory", email="carol@example.com", email_verified=False)
    async with browser(env) as agent:
        response = await agent.sign_in(authorize_url(redirect_to=f"{SITE}/x"), "mallory")
    base, query, fragment = landing(response)
    assert base == f"{SITE}/x"
    assert query["error"] == "access_denied"
    assert query["error_code"] == "provider_email_needs_verification"
    assert fragment == {**query, "sb": ""}
    identities = await identities_of(env, existing["user"]["id"])
    assert [i["provider"] for i in identities] == ["email"]
    assert env.hooks.counts["auth.user.created"] == 1


async def test_an_unverified_email_is_not_given_to_a_new_account(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    await add_provider(env, oidc_provider)
    await oidc_provider.account("dave", email="dave@example.com")  # no email_verified claim
    async with browser(env) as agent:
        response = await agent.sign_in(authorize_url(), "dave")
    user = await me(env, landing(response)[2]["access_token"])
    assert user["email"] == "" and "email_confirmed_at" not in user
    [identity] = user["identities"]  # type: ignore[misc]
    assert identity["email"] == "dave@example.com"
    assert identity["identity_data"]["email_verified"] is False
    assert await user_row(env, "dave@example.com") is None


async def test_the_callback_may_be_posted(env: ScenarioEnv, oidc_provider: OpenIdProvider) -> None:
    await add_provider(env, oidc_provider)
    await oidc_provider.account("poe", email="poe@example.com", email_verified=True)
    async with browser(env) as agent:
        response = await agent.sign_in(authorize_url(), "poe", post_callback=True)
    assert (await me(env, landing(response)[2]["access_token"]))["email"] == "poe@example.com"


async def test_the_authorize_redirect(env: ScenarioEnv, oidc_provider: OpenIdProvider) -> None:
    client = await add_provider(env, oidc_provider, scopes=["openid", "email"])
    _, challenge = pkce()
    url = authorize_url(
        redirect_to=f"{SITE}/a",
        scopes="profile offline_access",
        code_challenge=challenge,
        code_challenge_method="S256",
        prompt="consent",
        login_hint="al",
        state="mine",
        nonce="mine",
    )
    response = await env.client.get(url)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == oidc_provider.issuer
    params = dict(parse_qsl(location.query))
    assert params["client_id"] == client.client_id and params["response_type"] == "code"
    assert params["redirect_uri"] == "http://127.0.0.1:8000/auth/v1/callback"
    assert params["scope"] == "openid email profile offline_access"
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"] != challenge  # ours for the provider, not the client's
    assert params["prompt"] == "consent" and params["login_hint"] == "al"
    assert params["state"] != "mine" and params["nonce"] != "mine"
    assert client.client_secret not in response.headers["location"]


async def test_a_provider_in_another_project(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    admin = await env.admin_headers()
    created = await env.client.post(
        "/admin/v1/projects", headers=admin, json={"id": "shop", "name": "Shop"}
    )
    assert created.status_code == 201, created.text
    await add_provider(env, oidc_provider, name="shopid", project="shop")
    await oidc_provider.account("sam", email="sam@example.com", email_verified=True)
    async with browser(env) as agent:
        response = await agent.sign_in(authorize_url("shopid", project="shop"), "sam")
    fragment = landing(response)[2]
    headers = {**await anon(env, "shop"), "Authorization": f"Bearer {fragment['access_token']}"}
    user = await env.client.get("/p/shop/auth/v1/user", headers=headers)
    assert user.status_code == 200 and user.json()["email"] == "sam@example.com"
    assert await user_row(env, "sam@example.com") is None  # not in the default project
    elsewhere = await env.client.get(authorize_url("shopid"), headers=GOTRUE)
    assert elsewhere.status_code == 400 and error_code(elsewhere) == "validation_failed"


async def test_supabase_py_pkce_sign_in(env: ScenarioEnv, oidc_provider: OpenIdProvider) -> None:
    """supabase-py (PKCE by default) builds the URL, the browser signs in, the client exchanges
    the code: the real client library, in-process against the app. supabase-py accepts only
    the provider names it knows, so the generic OpenID provider is named keycloak here."""
    await add_provider(env, oidc_provider, name="keycloak")
    await oidc_provider.account("py", email="py@example.com", email_verified=True)
    client = AsyncGoTrueClient(
        url=str(env.client.base_url).rstrip("/") + "/auth/v1",
        headers={"apikey": await env.key("default", "anon")},
        http_client=env.client,
        flow_type="pkce",
        auto_refresh_token=False,
    )
    oauth = await client.sign_in_with_oauth(
        {"provider": "keycloak", "options": {"redirect_to": f"{SITE}/py"}}
    )
    async with browser(env) as agent:
        response = await agent.sign_in(oauth.url, "py")
    base, query, _ = landing(response)
    assert base == f"{SITE}/py"
    signed_in = await client.exchange_code_for_session({"auth_code": query["code"]})
    assert signed_in.session is not None and signed_in.user is not None
    assert signed_in.user.email == "py@example.com"
    assert signed_in.session.provider_token
    assert [i.provider for i in signed_in.user.identities or []] == ["keycloak"]
    user = await client.get_user()
    assert user is not None and user.user.id == signed_in.user.id
