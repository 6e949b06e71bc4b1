"""Helpers of the OAuth/OIDC sign-in tests: a provider registered at the test OpenID Provider
and configured in a project, the site URL, and reading the browser's final redirect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from apprun.core.context import RequestContext
from apprun.modules.auth import store
from apprun.testing import ScenarioEnv
from apprun.testing.oidc import Browser, OpenIdProvider, RegisteredClient

SITE = "http://app.example"
PROVIDERS = "/admin/v1/auth/providers"


def callback_url(env: ScenarioEnv, project: str = "default") -> str:
    return f"{env.services.auth.kernel.auth_url(project)}/callback"


async def set_site(env: ScenarioEnv, project: str = "default", site: str = SITE) -> None:
    headers = await env.key_headers(project, "service_role")
    response = await env.client.patch(
        "/admin/v1/settings", headers=headers, json={"site_url": site}
    )
    assert response.status_code == 200, response.text


async def add_provider(
    env: ScenarioEnv,
    oidc: OpenIdProvider,
    name: str = "acme",
    project: str = "default",
    client_metadata: dict[str, Any] | None = None,
    **fields: Any,
) -> RegisteredClient:
    """A client registered at the test provider, configured as ``name`` in ``project``."""
    client = await oidc.register([callback_url(env, project)], **(client_metadata or {}))
    body = {
        "name": name,
        "issuer": oidc.issuer,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        **fields,
    }
    headers = await env.key_headers(project, "service_role")
    response = await env.client.post(PROVIDERS, headers=headers, json=body)
    assert response.status_code == 201, response.text
    await set_site(env, project)
    return client


def authorize_url(provider: str = "acme", project: str = "default", **params: str) -> str:
    prefix = "" if project == "default" else f"/p/{project}"
    return f"{prefix}/auth/v1/authorize?{urlencode({'provider': provider, **params})}"


@asynccontextmanager
async def browser(env: ScenarioEnv) -> AsyncIterator[Browser]:
    agent = Browser(env.client, env.services.settings.effective_public_url)
    try:
        yield agent
    finally:
        await agent.aclose()


def landing(response: httpx.Response) -> tuple[str, dict[str, str], dict[str, str]]:
    """The app's redirect after the callback: (URL without query/fragment, query, fragment)."""
    assert response.status_code == 302, response.text
    parts = urlsplit(response.headers["location"])
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return base, dict(parse_qsl(parts.query)), dict(parse_qsl(parts.fragment, True))


async def user_row(env: ScenarioEnv, email: str, project: str = "default") -> Any:
    db = await env.services.auth.kernel.db(RequestContext(project))
    async with db.read() as conn:
        return await store.select_user_by_email(conn, email)


async def identities_of(env: ScenarioEnv, user_id: str, project: str = "default") -> list[Any]:
    db = await env.services.auth.kernel.db(RequestContext(project))
    async with db.read() as conn:
        return await store.select_identities(conn, [user_id])


async def change_user(
    env: ScenarioEnv, user_id: str, project: str = "default", **values: Any
) -> None:
    """Set columns of a user directly (states no endpoint of this module produces)."""
    db = await env.services.auth.kernel.db(RequestContext(project))
    async with db.tx() as conn:
        await store.update_user(conn, user_id, values)
