from __future__ import annotations

import jwt as pyjwt
import pytest

from apprun.testing import ScenarioEnv
from tests.modules.auth.conftest import anon, bearer, error_code, signed_up

pytestmark = pytest.mark.anyio


async def test_signup_signin_refresh_logout(env: ScenarioEnv) -> None:
    session = await signed_up(env, "ada@example.com")
    assert session["user"]["email"] == "ada@example.com"
    headers = await bearer(env, session)
    me = await env.client.get("/auth/v1/user", headers=headers)
    assert me.status_code == 200, me.text
    jwks = (await env.client.get("/auth/v1/.well-known/jwks.json", headers=await anon(env))).json()
    key = pyjwt.PyJWK(jwks["keys"][0])
    claims = pyjwt.decode(
        session["access_token"], key.key, algorithms=["ES256"], audience="authenticated"
    )
    assert claims["sub"] == session["user"]["id"]
    refreshed = await env.client.post(
        "/auth/v1/token?grant_type=refresh_token",
        headers=await anon(env),
        json={"refresh_token": session["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    out = await env.client.post("/auth/v1/logout", headers=headers)
    assert out.status_code == 204
    me = await env.client.get("/auth/v1/user", headers=headers)
    assert me.status_code == 403 and error_code(me) == "session_not_found", me.text
