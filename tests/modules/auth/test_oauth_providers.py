"""/admin/v1/auth/providers: the project's sign-in providers (service_role or admin)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from apprun.core.context import RequestContext
from apprun.modules.auth import providerstore
from apprun.testing import (
    ApiScenario,
    ScenarioEnv,
    as_admin,
    as_anon,
    as_service,
    no_auth,
    scenarios,
)
from apprun.testing.oidc import OpenIdProvider
from tests.modules.auth.conftest import bearer, signed_up
from tests.modules.auth.oauth_helpers import (
    PROVIDERS,
    add_provider,
    authorize_url,
    browser,
    landing,
)

pytestmark = pytest.mark.anyio

SECRET = "a-client-secret-nobody-may-read"
GOOGLE = {"name": "google", "client_id": "g-123", "client_secret": SECRET}


@dataclass(frozen=True)
class AsUser:
    """A signed-in end user (bearer token and the anon key)."""

    async def headers(self, env: ScenarioEnv) -> dict[str, str]:
        return await bearer(env, await signed_up(env, "user@example.com"))


@dataclass(frozen=True)
class AsOtherProject:
    """The service_role key of another project."""

    async def headers(self, env: ScenarioEnv) -> dict[str, str]:
        admin = await env.admin_headers()
        await env.client.post("/admin/v1/projects", headers=admin, json={"id": "p2", "name": "P"})
        return await env.key_headers("p2", "service_role")


async def with_google(env: ScenarioEnv) -> None:
    headers = await env.key_headers("default", "service_role")
    response = await env.client.post(PROVIDERS, headers=headers, json=GOOGLE)
    assert response.status_code == 201, response.text


def invalid(name: str, body: Any, field: str, status: int = 400) -> ApiScenario:
    return ApiScenario(
        name,
        "POST",
        PROVIDERS,
        auth=as_service(),
        json=body,
        expected_status=status,
        expected_content=(f'"field":"{field}"',),
        not_expected_content=(SECRET,),
        expected_hooks={"*": 0},
    )


ACCESS = scenarios(
    ApiScenario("list without a key", "GET", PROVIDERS, auth=no_auth(), expected_status=401),
    ApiScenario("list with the anon key", "GET", PROVIDERS, auth=as_anon(), expected_status=403),
    ApiScenario("list as a user", "GET", PROVIDERS, auth=AsUser(), expected_status=403),
    ApiScenario(
        "list with the service key",
        "GET",
        PROVIDERS,
        auth=as_service(),
        setup=with_google,
        expected_content=(
            '"name":"google"',
            '"client_secret_set":true',
            '"issuer":"https://accounts.google.com"',
        ),
        not_expected_content=(SECRET,),
        expected_len=1,
    ),
    ApiScenario(
        "list as admin", "GET", PROVIDERS, auth=as_admin(), setup=with_google, expected_len=1
    ),
    ApiScenario(
        "list as another project",
        "GET",
        PROVIDERS,
        auth=AsOtherProject(),
        setup=with_google,
        expected_len=0,
    ),
    ApiScenario(
        "get as another project",
        "GET",
        f"{PROVIDERS}/google",
        auth=AsOtherProject(),
        setup=with_google,
        expected_status=404,
    ),
    ApiScenario(
        "create a preset",
        "POST",
        PROVIDERS,
        auth=as_service(),
        json=GOOGLE,
        expected_status=201,
        expected_content=(
            '"kind":"google"',
            '"scopes":["openid","email","profile"]',
            '"callback_url":"http://127.0.0.1:8000/auth/v1/callback"',
        ),
        not_expected_content=(SECRET,),
    ),
    ApiScenario(
        "azure is the microsoft preset",
        "POST",
        PROVIDERS,
        auth=as_service(),
        json={**GOOGLE, "name": "azure"},
        expected_status=201,
        expected_content=(
            '"kind":"microsoft"',
            '"issuer":"https://login.microsoftonline.com/common/v2.0"',
        ),
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "create with the anon key",
        "POST",
        PROVIDERS,
        auth=as_anon(),
        json=GOOGLE,
        expected_status=403,
    ),
    ApiScenario(
        "create as a user", "POST", PROVIDERS, auth=AsUser(), json=GOOGLE, expected_status=403
    ),
    ApiScenario(
        "create twice",
        "POST",
        PROVIDERS,
        auth=as_service(),
        json=GOOGLE,
        setup=with_google,
        expected_status=409,
        expected_content=('"auth.provider_exists"',),
    ),
    ApiScenario(
        "get unknown",
        "GET",
        f"{PROVIDERS}/nope",
        auth=as_service(),
        expected_status=404,
        expected_content=('"auth.provider_not_found"',),
    ),
    ApiScenario(
        "delete",
        "DELETE",
        f"{PROVIDERS}/google",
        auth=as_service(),
        setup=with_google,
        expected_status=204,
    ),
    ApiScenario(
        "delete unknown", "DELETE", f"{PROVIDERS}/google", auth=as_service(), expected_status=404
    ),
    ApiScenario(
        "delete with the anon key",
        "DELETE",
        f"{PROVIDERS}/google",
        auth=as_anon(),
        setup=with_google,
        expected_status=403,
    ),
    ApiScenario(
        "patch as a user",
        "PATCH",
        f"{PROVIDERS}/google",
        auth=AsUser(),
        json={"enabled": False},
        setup=with_google,
        expected_status=403,
    ),
    ApiScenario(
        "bad JSON",
        "POST",
        PROVIDERS,
        auth=as_service(),
        content=b"{",
        headers={"Content-Type": "application/json"},
        expected_status=400,
        expected_content=('"auth.bad_json"',),
    ),
    invalid("no client_id", {"name": "google", "client_secret": "s"}, "client_id"),
    invalid("oidc without issuer", {"name": "acme", "client_id": "c"}, "issuer"),
    invalid(
        "issuer over http",
        {"name": "acme", "client_id": "c", "issuer": "http://idp.example"},
        "issuer",
    ),
    invalid(
        "issuer with a query",
        {"name": "acme", "client_id": "c", "issuer": "https://idp.example/?a=1"},
        "issuer",
    ),
    invalid(
        "issuer that does not answer",
        {"name": "acme", "client_id": "c", "issuer": "http://127.0.0.1:9"},
        "issuer",
    ),
    invalid(
        "github with an issuer",
        {**GOOGLE, "name": "github", "issuer": "https://github.com"},
        "issuer",
    ),
    invalid("url on a non-github kind", {**GOOGLE, "url": "https://x.example"}, "url"),
    invalid("a scope with a quote", {**GOOGLE, "scopes": ['"x"']}, "scopes"),
    invalid("empty scopes", {**GOOGLE, "scopes": []}, "scopes"),
    invalid("a reserved name", {**GOOGLE, "name": "email", "kind": "google"}, "name"),
    invalid("an upper-case name", {**GOOGLE, "name": "Google", "kind": "google"}, "name"),
    invalid("an unknown kind", {**GOOGLE, "kind": "myspace"}, "kind"),
    invalid("an unknown field", {**GOOGLE, "colour": "red"}, "colour"),
    invalid("a preset without secret", {"name": "gitlab", "client_id": "c"}, "client_secret"),
    invalid("enabled not a boolean", {**GOOGLE, "enabled": "maybe"}, "enabled"),
)


@pytest.mark.parametrize("case", ACCESS)
async def test_providers_api(case: ApiScenario, env: ScenarioEnv) -> None:
    await case.run(env)


async def test_patch_and_reset(env: ScenarioEnv) -> None:
    headers = await env.key_headers("default", "service_role")
    await with_google(env)
    url = f"{PROVIDERS}/google"
    changed = await env.client.patch(
        url, headers=headers, json={"scopes": ["openid"], "enabled": False}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["scopes"] == ["openid"] and changed.json()["enabled"] is False
    reset = await env.client.patch(url, headers=headers, json={"scopes": None, "enabled": None})
    assert reset.json()["scopes"] == ["openid", "email", "profile"] and reset.json()["enabled"]
    for body, field in [
        ({"kind": "github"}, "kind"),
        ({"client_secret": None}, "client_secret"),
        ({"client_id": None}, "client_id"),
        ({"issuer": "http://127.0.0.1:9"}, "issuer"),
    ]:
        refused = await env.client.patch(url, headers=headers, json=body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["details"]["field"] == field
    after = await env.client.get(url, headers=headers)
    assert after.json() == reset.json()


async def test_the_secret_is_sealed_at_rest(env: ScenarioEnv) -> None:
    await with_google(env)
    db = await env.services.auth.kernel.db(RequestContext("default"))
    async with db.read() as conn:
        row = await providerstore.select_provider(conn, "google")
    assert row["client_secret"] and SECRET not in row["client_secret"]
    assert SECRET not in row["config"]
    provider = await env.services.auth.providers.find(RequestContext("default"), "google")
    assert provider is not None and provider.client_secret == SECRET


async def test_a_changed_secret_is_the_one_sent(
    env: ScenarioEnv, oidc_provider: OpenIdProvider
) -> None:
    client = await add_provider(env, oidc_provider)
    await oidc_provider.account("sid", email="sid@example.com", email_verified=True)
    headers = await env.key_headers("default", "service_role")
    url = f"{PROVIDERS}/acme"
    await env.client.patch(url, headers=headers, json={"client_secret": "wrong"})
    async with browser(env) as agent:
        refused = landing(await agent.sign_in(authorize_url(), "sid"))
        assert refused[1]["error_code"] == "bad_oauth_callback"
        await env.client.patch(url, headers=headers, json={"client_secret": client.client_secret})
        assert "access_token" in landing(await agent.sign_in(authorize_url(), "sid"))[2]


async def test_settings_list_the_enabled_providers(env: ScenarioEnv) -> None:
    await with_google(env)
    anon = {"apikey": await env.key("default", "anon")}
    external = (await env.client.get("/auth/v1/settings", headers=anon)).json()["external"]
    assert external["google"] is True
    headers = await env.key_headers("default", "service_role")
    await env.client.patch(f"{PROVIDERS}/google", headers=headers, json={"enabled": False})
    external = (await env.client.get("/auth/v1/settings", headers=anon)).json()["external"]
    assert "google" not in external
