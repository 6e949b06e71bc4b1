"""Project keys: what they grant, rotation, forgery, expiry, and isolation between projects."""

from __future__ import annotations

import base64
import json

import pytest

from apprun.core.clock import ManualClock
from apprun.testing import ScenarioEnv

pytestmark = pytest.mark.anyio

Headers = dict[str, str]


async def make_project(env: ScenarioEnv, project_id: str) -> None:
    response = await env.client.post(
        "/admin/v1/projects",
        headers=await env.admin_headers(),
        json={"id": project_id, "name": project_id},
    )
    assert response.status_code == 201, response.text


def claims_of(key: str) -> dict[str, object]:
    payload = key.split(".")[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return decoded


def tamper(key: str, **changes: object) -> str:
    header, _, signature = key.split(".")
    claims = {**claims_of(key), **changes}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


async def test_keys_are_jwts_naming_role_and_project(env: ScenarioEnv) -> None:
    for name in ("anon", "service_role"):
        claims = claims_of(await env.key("default", name))
        assert claims["role"] == name
        assert claims["ref"] == "default"
        assert isinstance(claims["exp"], int)


async def test_the_key_decides_the_project(env: ScenarioEnv) -> None:
    await make_project(env, "alpha")
    await make_project(env, "beta")
    alpha_h = await env.key_headers("alpha", "service_role")
    beta_h = await env.key_headers("beta", "service_role")
    await env.client.patch("/admin/v1/settings", headers=alpha_h, json={"site_url": "https://a"})
    await env.client.patch("/admin/v1/settings", headers=beta_h, json={"site_url": "https://b"})
    seen_a = (await env.client.get("/admin/v1/settings", headers=alpha_h)).json()
    seen_b = (await env.client.get("/admin/v1/settings", headers=beta_h)).json()
    assert seen_a["site_url"] == "https://a"
    assert seen_b["site_url"] == "https://b"


async def test_a_key_cannot_reach_another_project(env: ScenarioEnv) -> None:
    await make_project(env, "alpha")
    await make_project(env, "beta")
    alpha = await env.key_headers("alpha", "service_role")
    response = await env.client.get(
        "/admin/v1/settings", headers={**alpha, "X-Apprun-Project": "beta"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.project_mismatch"
    beta_anon = await env.key("beta", "anon")
    mixed = await env.client.get(
        "/admin/v1/settings",
        headers={"apikey": beta_anon, "Authorization": f"Bearer {alpha['apikey']}"},
    )
    assert mixed.status_code == 401


async def test_a_key_resigned_for_another_project_is_refused(env: ScenarioEnv) -> None:
    await make_project(env, "alpha")
    alpha = await env.key("alpha", "service_role")
    forged = tamper(alpha, ref="default")
    response = await env.client.get("/admin/v1/settings", headers={"apikey": forged})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.invalid_api_key"


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda k: tamper(k, role="service_role"), id="anon promoted to service"),
        pytest.param(
            lambda k: k[:-4] + ("AAAA" if not k.endswith("AAAA") else "BBBB"), id="bad signature"
        ),
        pytest.param(lambda k: "garbage", id="not a jwt"),
        pytest.param(lambda k: k.split(".")[0] + ".e30.", id="no signature"),
    ],
)
async def test_forged_keys_are_401(env: ScenarioEnv, forge: object) -> None:
    anon = await env.key("default", "anon")
    assert callable(forge)
    response = await env.client.get("/admin/v1/settings", headers={"apikey": forge(anon)})
    assert response.status_code == 401
    body = response.json()["error"]
    assert body["code"] == "auth.invalid_api_key"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_expired_key_is_401_with_its_own_code(env: ScenarioEnv, clock: ManualClock) -> None:
    service = await env.key_headers("default", "service_role")
    assert (await env.client.get("/admin/v1/settings", headers=service)).status_code == 200
    clock.advance(11 * 365 * 24 * 3600)
    response = await env.client.get("/admin/v1/settings", headers=service)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.expired_token"


async def test_rotation_stops_the_old_key_at_once(env: ScenarioEnv, as_admin: Headers) -> None:
    old_service = await env.key_headers("default", "service_role")
    old_anon = await env.key("default", "anon")
    rotated = await env.client.post(
        "/admin/v1/projects/default/keys/rotate",
        headers=as_admin,
        json={"names": ["service_role"]},
    )
    assert rotated.status_code == 200
    new_service = next(k["key"] for k in rotated.json() if k["name"] == "service_role")
    assert new_service != old_service["apikey"]

    refused = await env.client.get("/admin/v1/settings", headers=old_service)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "auth.invalid_api_key"
    accepted = await env.client.get("/admin/v1/settings", headers={"apikey": new_service})
    assert accepted.status_code == 200
    # Only the named key was rotated.
    assert await env.key("default", "anon") == old_anon
    audit = await env.client.get("/admin/v1/audit?action=project.keys_rotated", headers=as_admin)
    assert audit.json()["entries"][0]["details"] == {"names": ["service_role"]}


async def test_rotating_with_no_body_rotates_both(env: ScenarioEnv, as_admin: Headers) -> None:
    before = {k: await env.key("default", k) for k in ("anon", "service_role")}
    response = await env.client.post("/admin/v1/projects/default/keys/rotate", headers=as_admin)
    assert response.status_code == 200
    after = {k["name"]: k["key"] for k in response.json()}
    assert all(after[name] != before[name] for name in before)


async def test_rotate_rejects_unknown_key_names(env: ScenarioEnv, as_admin: Headers) -> None:
    before = await env.key("default", "anon")
    response = await env.client.post(
        "/admin/v1/projects/default/keys/rotate", headers=as_admin, json={"names": ["root"]}
    )
    assert response.status_code == 422
    assert await env.key("default", "anon") == before


async def test_anonymous_requests_use_the_named_or_default_project(env: ScenarioEnv) -> None:
    unknown = await env.client.get("/admin/v1/settings", headers={"X-Apprun-Project": "nope"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "platform.project_not_found"
    anonymous = await env.client.get("/admin/v1/settings")
    assert anonymous.status_code == 401


async def test_admin_may_act_on_any_project_by_header(env: ScenarioEnv, as_admin: Headers) -> None:
    await make_project(env, "alpha")
    patched = await env.client.patch(
        "/admin/v1/settings",
        headers={**as_admin, "X-Apprun-Project": "alpha"},
        json={"jwt_expiry_seconds": 600},
    )
    assert patched.status_code == 200
    alpha = await env.key_headers("alpha", "service_role")
    assert (await env.client.get("/admin/v1/settings", headers=alpha)).json()[
        "jwt_expiry_seconds"
    ] == 600
    default = await env.client.get("/admin/v1/settings", headers=as_admin)
    assert default.json()["jwt_expiry_seconds"] == 3600
