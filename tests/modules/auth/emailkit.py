"""Helpers of the email-flow tests: SMTP through the ``smtp_server`` fixture, the site URL,
reading redirects."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt as pyjwt

from apprun.testing import ScenarioEnv
from apprun.testing.smtp import SmtpServer
from tests.modules.auth.conftest import PASSWORD, anon, bearer, configure

SITE = "http://localhost:3000"
VERIFIER = "a-pkce-verifier-that-is-long-enough-0123456789abcdef"


async def set_site(env: ScenarioEnv, project: str = "default", url: str = SITE) -> None:
    headers = await env.key_headers(project, "service_role")
    response = await env.client.patch("/admin/v1/settings", headers=headers, json={"site_url": url})
    assert response.status_code == 200, response.text


async def with_mail(
    env: ScenarioEnv, smtp: SmtpServer, project: str = "default", **config: Any
) -> None:
    """The project sends through the test SMTP server, has a site URL, and (unless told
    otherwise) no per-address interval, so that a test may ask for several mails."""
    await configure(
        env, project, smtp=smtp.config(), **{"email_max_frequency_seconds": 0, **config}
    )
    await set_site(env, project)


def creds(email: str) -> dict[str, str]:
    return {"email": email, "password": PASSWORD}


async def post(
    env: ScenarioEnv, path: str, body: Any, project: str = "default", **headers: str
) -> httpx.Response:
    return await env.client.post(
        f"/auth/v1{path}", headers={**await anon(env, project), **headers}, json=body
    )


async def sign_up(
    env: ScenarioEnv, email: str, project: str = "default", **headers: str
) -> httpx.Response:
    """Sign up with confirmation (auto-confirm off, as ``with_mail`` leaves it)."""
    response = await post(
        env, "/signup", {"email": email, "password": PASSWORD}, project, **headers
    )
    assert response.status_code == 200, response.text
    return response


async def password_grant(
    env: ScenarioEnv, email: str, password: str = PASSWORD, project: str = "default"
) -> httpx.Response:
    return await post(
        env, "/token?grant_type=password", {"email": email, "password": password}, project
    )


async def user_of(env: ScenarioEnv, session: dict[str, Any]) -> dict[str, Any]:
    response = await env.client.get("/auth/v1/user", headers=await bearer(env, session))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def service(env: ScenarioEnv, project: str = "default") -> dict[str, str]:
    return await env.key_headers(project, "service_role")


def claims(session: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = pyjwt.decode(
        session["access_token"], options={"verify_signature": False}
    )
    return decoded


def amr_methods(session: dict[str, Any]) -> list[str]:
    return [entry["method"] for entry in claims(session)["amr"]]


@dataclass(frozen=True)
class Redirect:
    """Where a 303 from GET /verify sends the browser."""

    base: str
    query: dict[str, str]
    fragment: dict[str, str]

    @classmethod
    def of(cls, response: httpx.Response) -> Redirect:
        assert response.status_code == 303, response.text
        parts = urlsplit(response.headers["location"])
        base = f"{parts.scheme}://{parts.netloc}{parts.path}"
        single = lambda raw: {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}  # noqa: E731
        return cls(base, single(parts.query), single(parts.fragment))

    def session(self) -> dict[str, Any]:
        assert "access_token" in self.fragment, self.fragment
        return {**self.fragment, "expires_in": int(self.fragment["expires_in"])}


def challenge(verifier: str = VERIFIER) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def pkce() -> dict[str, str]:
    """A supabase-style PKCE pair (method in lowercase, as the clients send it)."""
    return {"code_challenge": challenge(), "code_challenge_method": "s256"}
