"""Access tokens: ES256/RS256 with kid, the JWKS, key rotation, project isolation. Tokens are
verified with an independent JOSE library (PyJWT) that sees only the JWKS endpoint."""

from __future__ import annotations

from typing import Any

import jwt as pyjwt
import pytest

from apprun.core.clock import ManualClock
from apprun.testing import ScenarioEnv
from tests.modules.auth.conftest import anon, bearer, error_code, signed_up

pytestmark = pytest.mark.anyio


async def jwks(env: ScenarioEnv, project: str = "default") -> dict[str, Any]:
    response = await env.client.get(
        "/auth/v1/.well-known/jwks.json", headers=await anon(env, project)
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=600"
    body: dict[str, Any] = response.json()
    return body


def verify(token: str, keys: dict[str, Any]) -> dict[str, Any]:
    kid = pyjwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in keys["keys"] if k["kid"] == kid)
    claims: dict[str, Any] = pyjwt.decode(
        token, pyjwt.PyJWK(jwk).key, algorithms=[jwk["alg"]], audience="authenticated"
    )
    return claims


async def create_project(env: ScenarioEnv, project: str) -> None:
    response = await env.client.post(
        "/admin/v1/projects",
        headers=await env.admin_headers(),
        json={"id": project, "name": project},
    )
    assert response.status_code == 201, response.text


async def test_claims_as_supabase_issues_them(env: ScenarioEnv) -> None:
    session = await signed_up(env, "ada@example.com")
    header = pyjwt.get_unverified_header(session["access_token"])
    assert header["alg"] == "ES256" and header["typ"] == "JWT" and header["kid"]
    claims = verify(session["access_token"], await jwks(env))
    assert claims["iss"] == "http://127.0.0.1:8000/auth/v1"
    assert claims["sub"] == session["user"]["id"]
    assert claims["role"] == "authenticated" and claims["aal"] == "aal1"
    assert claims["email"] == "ada@example.com" and claims["phone"] == ""
    assert claims["exp"] - claims["iat"] == 3600 == session["expires_in"]
    assert claims["exp"] == session["expires_at"]
    assert [e["method"] for e in claims["amr"]] == ["password"]
    assert isinstance(claims["amr"][0]["timestamp"], int)
    assert claims["session_id"] and claims["is_anonymous"] is False
    assert claims["ref"] == "default"
    assert claims["app_metadata"] == {"provider": "email", "providers": ["email"], "roles": []}
    key = (await jwks(env))["keys"][0]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["use"] == "sig"
    assert key["key_ops"] == ["verify"] and "d" not in key and "ext" not in key


async def test_rotation_keeps_old_tokens_verifying(env: ScenarioEnv) -> None:
    before = await signed_up(env, "ada@example.com")
    rotate = await env.client.post(
        "/admin/v1/projects/default/signing-keys/rotate",
        headers=await env.admin_headers(),
        json={"alg": "RS256"},
    )
    assert rotate.status_code == 200, rotate.text
    assert [k["retired"] for k in rotate.json()] == [False, True]
    keys = await jwks(env)
    assert {k["alg"] for k in keys["keys"]} == {"ES256", "RS256"}
    after = await env.client.post(
        "/auth/v1/token?grant_type=refresh_token",
        headers=await anon(env),
        json={"refresh_token": before["refresh_token"]},
    )
    new_token = after.json()["access_token"]
    assert pyjwt.get_unverified_header(new_token)["alg"] == "RS256"
    verify(new_token, keys)
    verify(before["access_token"], keys)  # signed by the retired key: still published
    for session in (before, after.json()):
        me = await env.client.get("/auth/v1/user", headers=await bearer(env, session))
        assert me.status_code == 200, me.text


async def test_rotation_needs_an_admin(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    refused = await env.client.post(
        "/admin/v1/projects/default/signing-keys/rotate", headers=service
    )
    assert refused.status_code == 403


async def test_tokens_of_one_project_are_refused_by_another(env: ScenarioEnv) -> None:
    await create_project(env, "shop")
    session = await signed_up(env, "ada@example.com", project="default")
    theirs = {
        "apikey": await env.key("shop", "anon"),
        "Authorization": f"Bearer {session['access_token']}",
    }
    response = await env.client.get("/auth/v1/user", headers=theirs)
    assert response.status_code == 403 and error_code(response) == "bad_jwt"
    rest = await env.client.get("/rest/v1/anything", headers=theirs)
    assert rest.status_code == 401
    # The token alone names its project by `ref`, which the signature proves.
    alone = await env.client.get(
        "/auth/v1/user", headers={"Authorization": f"Bearer {session['access_token']}"}
    )
    assert alone.status_code == 200


async def test_project_prefix_is_the_project_base_url(env: ScenarioEnv) -> None:
    await create_project(env, "shop")
    session = await signed_up(env, "ada@example.com", project="shop")
    claims = pyjwt.decode(session["access_token"], options={"verify_signature": False})
    assert claims["iss"] == "http://127.0.0.1:8000/p/shop/auth/v1" and claims["ref"] == "shop"
    keys = await env.client.get("/p/shop/auth/v1/.well-known/jwks.json")
    verify(session["access_token"], keys.json())
    me = await env.client.get(
        "/p/shop/auth/v1/user", headers={"Authorization": f"Bearer {session['access_token']}"}
    )
    assert me.status_code == 200, me.text


async def test_expired_and_tampered_tokens(env: ScenarioEnv, clock: ManualClock) -> None:
    session = await signed_up(env, "ada@example.com")
    header, payload, signature = session["access_token"].split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    tampered = await env.client.get(
        "/auth/v1/user", headers={**await anon(env), "Authorization": f"Bearer {forged}"}
    )
    assert tampered.status_code == 403 and error_code(tampered) == "bad_jwt"
    clock.advance(seconds=3601)
    expired = await env.client.get("/auth/v1/user", headers=await bearer(env, session))
    assert expired.status_code == 403 and error_code(expired) == "bad_jwt"
    # Public endpoints ignore a stale token, as GoTrue does (supabase-py sends it along).
    fine = await env.client.post(
        "/auth/v1/token?grant_type=refresh_token",
        headers=await bearer(env, session),
        json={"refresh_token": session["refresh_token"]},
    )
    assert fine.status_code == 200, fine.text
