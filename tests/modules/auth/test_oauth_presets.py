"""Presets against the real provider: github (OAuth 2.0 only, the user from its API, as GitHub
Enterprise with ``url``/``api_url``) and apple (issuer overridden; the callback is posted,
response_mode=form_post); and the pure pieces: claims → profile, error redirects."""

from __future__ import annotations

import pytest

from apprun.modules.auth.errors import ProviderDenied, SignupDisabled, UserBanned
from apprun.modules.auth.oauth import AuthorizeRequest, error_url, with_params
from apprun.modules.auth.oauthclient import _tenant_template_matches
from apprun.modules.auth.oauthprofile import github_profile, oidc_profile
from apprun.testing import ScenarioEnv
from apprun.testing.oidc import OpenIdProvider
from tests.modules.auth.conftest import anon
from tests.modules.auth.oauth_helpers import (
    SITE,
    add_provider,
    authorize_url,
    browser,
    landing,
    user_row,
)

pytestmark = pytest.mark.anyio


async def test_github_preset(env: ScenarioEnv, oidc_provider: OpenIdProvider) -> None:
    issuer = oidc_provider.issuer
    await add_provider(
        env,
        oidc_provider,
        name="github",
        issuer=None,
        url=issuer,
        api_url=f"{issuer}/gh",
        client_metadata={"token_endpoint_auth_method": "client_secret_post"},
    )
    await oidc_provider.account(
        "octocat",
        github_id="4242",
        preferred_username="octocat",
        name="The Octocat",
        email="octo@example.com",
        email_verified=True,
    )
    async with browser(env) as agent:
        response = await agent.sign_in(authorize_url("github"), "octocat")
    fragment = landing(response)[2]
    headers = {**await anon(env), "Authorization": f"Bearer {fragment['access_token']}"}
    user = (await env.client.get("/auth/v1/user", headers=headers)).json()
    assert user["email"] == "octo@example.com"
    [identity] = user["identities"]
    assert identity["provider"] == "github" and identity["id"] == "4242"
    assert identity["identity_data"]["user_name"] == "octocat"
    assert user["app_metadata"]["provider"] == "github"


async def test_github_unverified_primary_email(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    issuer = oidc_provider.issuer
    await add_provider(
        env,
        oidc_provider,
        name="github",
        issuer=None,
        url=issuer,
        api_url=f"{issuer}/gh",
        client_metadata={"token_endpoint_auth_method": "client_secret_post"},
    )
    await oidc_provider.account(
        "gh2", github_id="77", email="gh2@example.com", email_verified=False
    )
    async with browser(env) as agent:
        assert "access_token" in landing(await agent.sign_in(authorize_url("github"), "gh2"))[2]
    assert await user_row(env, "gh2@example.com") is None


async def test_apple_preset_posts_the_callback(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    await add_provider(env, oidc_provider, name="apple", scopes=["openid", "email"])
    await oidc_provider.account("appleseed", email="seed@example.com", email_verified=True)
    authorize = await env.client.get(authorize_url("apple"))
    assert "response_mode=form_post" in authorize.headers["location"]
    async with browser(env) as agent:
        response = await agent.sign_in(authorize_url("apple", redirect_to=f"{SITE}/a"), "appleseed")
    base, _, fragment = landing(response)
    assert base == f"{SITE}/a" and "access_token" in fragment
    assert (await user_row(env, "seed@example.com")) is not None


def test_oidc_claims_to_profile() -> None:
    apple = oidc_profile(
        "apple",
        {"sub": "s1", "email": "A@B.example", "email_verified": "true"},
        '{"name": {"firstName": "Ada", "lastName": "King"}}',
    )
    assert apple.email == "a@b.example" and apple.email_verified
    assert apple.data["full_name"] == "Ada King"
    ms = oidc_profile("microsoft", {"sub": "s2", "email": "m@b.example", "xms_edov": True})
    assert ms.email_verified
    generic = oidc_profile("oidc", {"sub": "s3", "email": "m@b.example", "xms_edov": True})
    assert not generic.email_verified
    bad = oidc_profile("oidc", {"sub": "s4", "email": "not an address", "email_verified": True})
    assert bad.email is None and not bad.email_verified and "email" not in bad.data
    assert oidc_profile("oidc", {"sub": "s5", "email_verified": "yes"}).email_verified is False


def test_github_user_to_profile() -> None:
    user = {
        "id": 9,
        "login": "octo",
        "emails": [
            {"email": "old@example.com", "primary": False, "verified": True},
            {"email": "main@example.com", "primary": True, "verified": False},
        ],
    }
    profile = github_profile(user, "https://api.github.com")
    assert profile.subject == "9" and profile.email == "main@example.com"
    assert not profile.email_verified


def test_microsoft_tenant_template() -> None:
    template = "https://login.microsoftonline.com/{tenantid}/v2.0"
    assert _tenant_template_matches(template, "https://login.microsoftonline.com/common/v2.0")
    assert not _tenant_template_matches(template, "https://evil.example/common/v2.0")
    assert not _tenant_template_matches(template, "https://login.microsoftonline.com/a/b/v2.0")


def test_error_redirects() -> None:
    url = error_url("https://app.example/cb?x=1#old", SignupDisabled())
    assert url.startswith("https://app.example/cb?x=1&error=access_denied&error_code=signup")
    assert url.endswith("&sb=") and "#error=access_denied" in url
    assert "error=access_denied" in error_url("https://a.example", UserBanned())
    denied = ProviderDenied("no", details={"provider_error": "consent_required"})
    assert "?error=consent_required&error_code=bad_oauth_callback" in error_url("https://a", denied)
    assert with_params("https://a.example/p", query={"code": "c"}) == "https://a.example/p?code=c"


def test_reserved_parameters_are_not_forwarded() -> None:
    query = {
        "provider": "x",
        "state": "s",
        "client_id": "c",
        "redirect_uri": "r",
        "response_mode": "fragment",
        "apikey": "k",
        "prompt": "consent",
    }
    assert AuthorizeRequest.from_query(query).extra == (("prompt", "consent"),)
