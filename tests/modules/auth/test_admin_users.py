"""GoTrue's admin users API: who may call it, and each endpoint's contract (reference §4.8)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from apprun.core.clock import ManualClock
from apprun.core.context import RequestContext
from apprun.modules.auth import store
from apprun.testing import ApiScenario, ScenarioEnv, as_anon, as_service, no_auth, scenarios
from tests.modules.auth.conftest import GOTRUE, PASSWORD, anon, bearer, configure, error_code
from tests.modules.auth.users import (
    USER_A,
    USER_B,
    SignedIn,
    admin_create,
    as_user,
    audit_entries,
    service,
    sign_in,
)

pytestmark = pytest.mark.anyio
A_EMAIL = "alice@example.com"


async def with_alice(env: ScenarioEnv) -> None:
    await admin_create(env, id=USER_A, email=A_EMAIL, password=PASSWORD)


async def with_alice_and_other_project(env: ScenarioEnv) -> None:
    await with_alice(env)
    created = await env.client.post(
        "/admin/v1/projects", headers=await env.admin_headers(), json={"id": "other", "name": "O"}
    )
    assert created.status_code == 201, created.text


ENDPOINTS: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("list", "GET", "/auth/v1/admin/users", None, {}),
    ("create", "POST", "/auth/v1/admin/users", {"email": "new@example.com"},
     {"auth.user.created": 1}),
    ("get", "GET", f"/auth/v1/admin/users/{USER_A}", None, {}),
    ("update", "PUT", f"/auth/v1/admin/users/{USER_A}", {"user_metadata": {"a": 1}},
     {"auth.user.updated": 1}),
    ("delete", "DELETE", f"/auth/v1/admin/users/{USER_A}", None, {"auth.user.deleted": 1}),
    ("logout", "POST", f"/auth/v1/admin/users/{USER_A}/logout", None,
     {"auth.user.signed_out": 1}),
    ("sessions", "GET", f"/auth/v1/admin/users/{USER_A}/sessions", None, {}),
]  # fmt: skip


def _access_cases() -> list[Any]:
    cases = []
    for name, method, url, body, hooks in ENDPOINTS:
        refused = dict.fromkeys(hooks, 0) | {"*": 0}
        for who, auth, status, code in (
            ("no key", no_auth(), 401, "no_authorization"),
            ("anon key", as_anon(), 403, "not_admin"),
            ("the user", SignedIn(A_EMAIL), 403, "not_admin"),
            ("another user", as_user("eve@example.com"), 403, "not_admin"),
        ):
            cases.append(
                ApiScenario(
                    f"{name} as {who}",
                    method,
                    url,
                    auth=auth,
                    json=body,
                    headers=GOTRUE,
                    setup=with_alice,
                    expected_status=status,
                    expected_content=(f'"code":"{code}"',),
                    not_expected_content=(A_EMAIL,),
                    expected_hooks=refused,
                )
            )
        other_status = 200 if name in ("list", "create") else 404
        cases.append(
            ApiScenario(
                f"{name} as another project",
                method,
                url,
                auth=as_service("other"),
                json=body,
                headers=GOTRUE,
                setup=with_alice_and_other_project,
                expected_status=other_status,
                not_expected_content=(A_EMAIL,),
                expected_hooks=hooks if name == "create" else refused,
            )
        )
        cases.append(
            ApiScenario(
                f"{name} as service_role",
                method,
                url,
                auth=as_service(),
                json=body,
                headers=GOTRUE,
                setup=with_alice,
                expected_status=200,
                expected_hooks=hooks,
            )
        )
    return scenarios(*cases)


@pytest.mark.parametrize("case", _access_cases())
async def test_admin_access(case: ApiScenario, env: ScenarioEnv) -> None:
    await case.run(env)


async def test_list_paginates_as_gotrue(env: ScenarioEnv, clock: ManualClock) -> None:
    for n in range(3):
        await admin_create(env, email=f"u{n}@example.com")
        clock.advance(1)
    headers = await service(env)
    first = await env.client.get("/auth/v1/admin/users?page=1&per_page=2", headers=headers)
    assert first.status_code == 200, first.text
    assert first.headers["x-total-count"] == "3"
    assert first.headers["link"] == (
        '</admin/users?page=2&per_page=2>; rel="next", </admin/users?page=2&per_page=2>; rel="last"'
    )
    body = first.json()
    assert body["aud"] == "authenticated"
    assert [u["email"] for u in body["users"]] == ["u2@example.com", "u1@example.com"]
    assert all(u["identities"] and u["app_metadata"]["roles"] == [] for u in body["users"])
    last = await env.client.get("/auth/v1/admin/users?page=2&per_page=2", headers=headers)
    assert [u["email"] for u in last.json()["users"]] == ["u0@example.com"]
    assert last.headers["link"] == '</admin/users?page=2&per_page=2>; rel="last"'
    # supabase-js sends unset parameters empty: the defaults apply.
    default = await env.client.get("/auth/v1/admin/users?page=&per_page=", headers=headers)
    assert len(default.json()["users"]) == 3
    assert default.headers["link"] == '</admin/users?page=1&per_page=50>; rel="last"'
    found = await env.client.get("/auth/v1/admin/users?filter=u1%40", headers=headers)
    assert [u["email"] for u in found.json()["users"]] == ["u1@example.com"]


@pytest.mark.parametrize("query", ["page=x", "page=0", "per_page=0", "per_page=1001", "page=-1"])
async def test_list_refuses_bad_pagination(env: ScenarioEnv, query: str) -> None:
    response = await env.client.get(f"/auth/v1/admin/users?{query}", headers=await service(env))
    assert response.status_code == 400 and error_code(response) == "validation_failed"


async def test_create_user_shapes_and_sign_in(env: ScenarioEnv) -> None:
    user = await admin_create(
        env, email="Grace@Example.com", password="short1", user_metadata={"name": "Grace"},
        app_metadata={"plan": "pro"},
    )  # fmt: skip
    assert user["email"] == "grace@example.com" and user["email_confirmed_at"]
    assert user["app_metadata"] == {
        "provider": "email", "providers": ["email"], "plan": "pro", "roles": []
    }  # fmt: skip
    assert user["user_metadata"] == {"name": "Grace"}
    [identity] = user["identities"]
    assert identity["provider"] == "email" and identity["identity_data"]["email_verified"]
    # No strength check on admin creation (GoTrue's), and the user signs in with it.
    session = await sign_in(env, "grace@example.com", "short1")
    assert session["user"]["id"] == user["id"]


async def test_create_without_password_stores_a_random_one(env: ScenarioEnv) -> None:
    user = await admin_create(env, email="nopass@example.com", email_confirm=False)
    assert "email_confirmed_at" not in user
    async with (await env.services.auth.kernel.db(RequestContext("default"))).read() as conn:
        row = await store.select_user(conn, user["id"])
    assert row["encrypted_password"].startswith("$argon2")
    refused = await env.client.post(
        "/auth/v1/token?grant_type=password",
        headers=await anon(env),
        json={"email": "nopass@example.com", "password": ""},
    )
    assert error_code(refused) == "invalid_credentials"


async def test_create_with_id_phone_and_ban(env: ScenarioEnv, clock: ManualClock) -> None:
    user = await admin_create(
        env, id=USER_B.upper(), phone="+1 555 010 0999", phone_confirm=True, ban_duration="1h30m"
    )
    assert user["id"] == USER_B and user["phone"] == "15550100999" and user["email"] == ""
    assert user["phone_confirmed_at"] and user["identities"][0]["provider"] == "phone"
    banned_until = datetime.fromisoformat(user["banned_until"])
    assert banned_until - clock.now() == timedelta(hours=1, minutes=30)
    again = await env.client.post(
        "/auth/v1/admin/users", headers=await service(env), json={"phone": "15550100999"}
    )
    assert again.status_code == 422 and error_code(again) == "phone_exists"
    same_id = await env.client.post(
        "/auth/v1/admin/users",
        headers=await service(env),
        json={"id": USER_B, "email": "x@example.com"},
    )
    assert same_id.status_code == 422 and error_code(same_id) == "user_already_exists"


CREATE_REFUSALS = [
    ({}, 400, "validation_failed"),
    ({"email": "a@example.com", "password": "p4ssword!", "password_hash": "$argon2id$x"}, 400,
     "validation_failed"),
    ({"email": "a@example.com", "password_hash": "$2a$10$bcrypt"}, 400, "validation_failed"),
    ({"email": "a@example.com", "id": "not-a-uuid"}, 404, "validation_failed"),
    ({"email": "a@example.com", "ban_duration": "forever"}, 400, "validation_failed"),
    ({"email": "a@example.com", "ban_duration": "10"}, 400, "validation_failed"),
    ({"email": "a@example.com", "app_metadata": {"roles": "editor"}}, 400, "validation_failed"),
    ({"email": "a@example.com", "app_metadata": {"roles": ["nosuchrole"]}}, 400,
     "validation_failed"),
    ({"email": "a@example.com", "app_metadata": {"roles": ["service_role"]}}, 400,
     "validation_failed"),
    ({"email": "a@example.com", "role": "nosuchrole"}, 400, "validation_failed"),
    ({"email": "a@example.com", "user_metadata": {"x": "y" * 20_000}}, 400, "validation_failed"),
    ({"email": "not an address"}, 400, "email_address_invalid"),
    ({"phone": "12"}, 400, "validation_failed"),
    ({"email": "a@example.com", "email_confirm": "maybe"}, 400, "bad_json"),
    ({"email": "a@example.com", "password": "x" * 1100}, 400, "validation_failed"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "status", "code"), CREATE_REFUSALS)
async def test_create_refusals_change_nothing(
    env: ScenarioEnv, body: dict[str, Any], status: int, code: str
) -> None:
    headers = await service(env)
    response = await env.client.post("/auth/v1/admin/users", headers=headers, json=body)
    assert response.status_code == status, response.text
    assert error_code(response) == code
    listed = await env.client.get("/auth/v1/admin/users", headers=headers)
    assert listed.headers["x-total-count"] == "0"


async def test_create_refuses_taken_email_and_bad_json(env: ScenarioEnv) -> None:
    await admin_create(env, email="taken@example.com")
    again = await env.client.post(
        "/auth/v1/admin/users", headers=await service(env), json={"email": "TAKEN@example.com"}
    )
    assert again.status_code == 422 and error_code(again) == "email_exists"
    broken = await env.client.post(
        "/auth/v1/admin/users", headers=await service(env), content=b"{not json"
    )
    assert broken.status_code == 400 and error_code(broken) == "bad_json"


@pytest.mark.parametrize(
    ("user_id", "status", "code"),
    [(USER_B, 404, "user_not_found"), ("12345", 404, "validation_failed")],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_unknown_and_malformed_ids(
    env: ScenarioEnv, user_id: str, status: int, code: str, method: str
) -> None:
    response = await env.client.request(
        method, f"/auth/v1/admin/users/{user_id}", headers=await service(env), json={}
    )
    assert response.status_code == status and error_code(response) == code, response.text


async def test_update_merges_metadata_and_changes_password_and_email(env: ScenarioEnv) -> None:
    user = await admin_create(
        env, email=A_EMAIL, password=PASSWORD, user_metadata={"keep": 1, "drop": 2},
        app_metadata={"plan": "free", "team": "x"},
    )  # fmt: skip
    url = f"/auth/v1/admin/users/{user['id']}"
    headers = await service(env)
    updated = await env.client.put(
        url,
        headers=headers,
        json={"user_metadata": {"drop": None, "new": 3}, "app_metadata": {"plan": "pro"},
              "password": "another long passphrase", "email": "alice2@example.com"},
    )  # fmt: skip
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["user_metadata"] == {"keep": 1, "new": 3}
    assert body["app_metadata"]["plan"] == "pro" and body["app_metadata"]["team"] == "x"
    assert body["email"] == "alice2@example.com"
    assert body["identities"][0]["email"] == "alice2@example.com"
    assert body["identities"][0]["identity_data"]["email"] == "alice2@example.com"
    await sign_in(env, "alice2@example.com", "another long passphrase")
    weak = await env.client.put(url, headers=headers, json={"password": "123"})
    assert weak.status_code == 422 and error_code(weak) == "weak_password"
    assert weak.json()["weak_password"]["reasons"]
    await admin_create(env, email="bob@example.com")
    taken = await env.client.put(url, headers=headers, json={"email": "bob@example.com"})
    assert taken.status_code == 422 and error_code(taken) == "email_exists"


async def test_update_confirms_email(env: ScenarioEnv) -> None:
    user = await admin_create(env, email=A_EMAIL, password=PASSWORD, email_confirm=False)
    refused = await env.client.post(
        "/auth/v1/token?grant_type=password",
        headers=await anon(env),
        json={"email": A_EMAIL, "password": PASSWORD},
    )
    assert error_code(refused) == "email_not_confirmed"
    confirmed = await env.client.put(
        f"/auth/v1/admin/users/{user['id']}", headers=await service(env),
        json={"email_confirm": True},
    )  # fmt: skip
    assert confirmed.json()["email_confirmed_at"]
    assert confirmed.json()["identities"][0]["identity_data"]["email_verified"] is True
    await sign_in(env, A_EMAIL)


async def test_ban_ends_sessions_at_once_and_lifts(env: ScenarioEnv, clock: ManualClock) -> None:
    await with_alice(env)
    session = await sign_in(env, A_EMAIL)
    headers = await bearer(env, session)
    url = f"/auth/v1/admin/users/{USER_A}"
    banned = await env.client.put(url, headers=await service(env), json={"ban_duration": "24h"})
    assert banned.status_code == 200, banned.text
    until = datetime.fromisoformat(banned.json()["banned_until"])
    assert until - clock.now() == timedelta(hours=24)
    me = await env.client.get("/auth/v1/user", headers=headers)
    assert me.status_code == 403 and error_code(me) == "session_not_found"
    refresh = await env.client.post(
        "/auth/v1/token?grant_type=refresh_token",
        headers=await anon(env),
        json={"refresh_token": session["refresh_token"]},
    )
    assert refresh.status_code == 400
    attempt = await env.client.post(
        "/auth/v1/token?grant_type=password",
        headers=await anon(env),
        json={"email": A_EMAIL, "password": PASSWORD},
    )
    assert attempt.status_code == 400 and error_code(attempt) == "user_banned"
    clock.advance(24 * 3600 + 1)  # the ban runs out by itself
    await sign_in(env, A_EMAIL)
    await env.client.put(url, headers=await service(env), json={"ban_duration": "1h"})
    lifted = await env.client.put(url, headers=await service(env), json={"ban_duration": "none"})
    assert "banned_until" not in lifted.json()
    await sign_in(env, A_EMAIL)
    assert [e["details"]["until"] for e in await audit_entries(env, "auth.user.banned")]
    assert len(await audit_entries(env, "auth.user.unbanned")) == 1


async def test_delete_cascades_and_soft_delete_keeps_the_row(env: ScenarioEnv) -> None:
    await with_alice(env)
    session = await sign_in(env, A_EMAIL)
    headers = await service(env)
    deleted = await env.client.delete(f"/auth/v1/admin/users/{USER_A}", headers=headers)
    assert deleted.status_code == 200 and deleted.json() == {}
    gone = await env.client.get(f"/auth/v1/admin/users/{USER_A}", headers=headers)
    assert gone.status_code == 404 and error_code(gone) == "user_not_found"
    me = await env.client.get("/auth/v1/user", headers=await bearer(env, session))
    assert me.status_code == 403
    async with (await env.services.auth.kernel.db(RequestContext("default"))).read() as conn:
        assert await store.select_identities(conn, [USER_A]) == []
        assert await store.select_user_sessions(conn, USER_A) == []
    # The address is free again; a soft delete keeps the row but nothing to sign in with.
    await admin_create(env, id=USER_B, email=A_EMAIL, password=PASSWORD)
    soft = await env.client.request(
        "DELETE", f"/auth/v1/admin/users/{USER_B}", headers=headers,
        json={"should_soft_delete": True},
    )  # fmt: skip
    assert soft.status_code == 200 and soft.json() == {}
    kept = (await env.client.get(f"/auth/v1/admin/users/{USER_B}", headers=headers)).json()
    assert kept["email"] == "" and kept["identities"] == [] and kept["banned_until"]
    refused = await env.client.post(
        "/auth/v1/token?grant_type=password",
        headers=await anon(env),
        json={"email": A_EMAIL, "password": PASSWORD},
    )
    assert error_code(refused) == "invalid_credentials"
    assert [e["details"]["soft"] for e in await audit_entries(env, "auth.user.deleted")] == [
        True,
        False,
    ]


async def test_admin_logout_and_sessions_list(env: ScenarioEnv) -> None:
    await with_alice(env)
    first = await sign_in(env, A_EMAIL)
    await sign_in(env, A_EMAIL)
    headers = await service(env)
    url = f"/auth/v1/admin/users/{USER_A}"
    listed = (await env.client.get(f"{url}/sessions", headers=headers)).json()
    assert len(listed) == 2
    assert listed[0]["amr"][0]["method"] == "password" and listed[0]["ip"] == "127.0.0.1"
    assert listed[0]["aal"] == "aal1" and listed[0]["user_id"] == USER_A
    out = await env.client.post(f"{url}/logout", headers=headers)
    assert out.status_code == 200 and out.json() == {}
    assert (await env.client.get(f"{url}/sessions", headers=headers)).json() == []
    me = await env.client.get("/auth/v1/user", headers=await bearer(env, first))
    assert me.status_code == 403 and error_code(me) == "session_not_found"


@pytest.mark.parametrize(("scope", "left"), [("global", 0), ("local", 1), ("others", 1)])
async def test_admin_sign_out_with_the_users_jwt(env: ScenarioEnv, scope: str, left: int) -> None:
    """supabase-js ``auth.admin.signOut(jwt, scope)``: the user's JWT beside the service key."""
    await with_alice(env)
    session = await sign_in(env, A_EMAIL)
    await sign_in(env, A_EMAIL)
    key = await env.key("default", "service_role")
    headers = {"apikey": key, "Authorization": f"Bearer {session['access_token']}", **GOTRUE}
    out = await env.client.post(f"/auth/v1/logout?scope={scope}", headers=headers)
    assert out.status_code == 204, out.text
    sessions = await env.client.get(
        f"/auth/v1/admin/users/{USER_A}/sessions", headers=await service(env)
    )
    assert len(sessions.json()) == left
    assert len(await audit_entries(env, "auth.user.signed_out")) == 1


async def test_app_metadata_roles_become_apprun_roles(env: ScenarioEnv) -> None:
    created = await env.client.post(
        "/admin/v1/roles", headers=await env.admin_headers(), json={"name": "editor"}
    )
    assert created.status_code == 201, created.text
    user = await admin_create(
        env, id=USER_A, email=A_EMAIL, password=PASSWORD, app_metadata={"roles": ["editor"]}
    )
    assert user["app_metadata"]["roles"] == ["editor"]
    roles = await env.client.get(f"/admin/v1/users/{USER_A}/roles", headers=await service(env))
    assert roles.json() == ["editor"] or roles.json().get("roles") == ["editor"]
    claims = (await sign_in(env, A_EMAIL))["user"]["app_metadata"]
    assert claims["roles"] == ["editor"]
    url = f"/auth/v1/admin/users/{USER_A}"
    cleared = await env.client.put(url, headers=await service(env),
                                   json={"app_metadata": {"roles": None}})  # fmt: skip
    assert cleared.json()["app_metadata"]["roles"] == []
    by_role = await env.client.put(url, headers=await service(env), json={"role": "editor"})
    assert by_role.json()["app_metadata"]["roles"] == ["editor"]
    bad = await env.client.put(url, headers=await service(env),
                               json={"app_metadata": {"roles": ["editor", "ghost"]}})  # fmt: skip
    assert bad.status_code == 400 and bad.json()["details"]["unknown_roles"] == ["ghost"]
    assert (await env.client.get(url, headers=await service(env))).json()["app_metadata"][
        "roles"
    ] == ["editor"]


async def test_admin_events_are_audited(env: ScenarioEnv) -> None:
    await configure(env, mailer_autoconfirm=True)
    user = await admin_create(env, email=A_EMAIL, password=PASSWORD)
    url = f"/auth/v1/admin/users/{user['id']}"
    headers = await service(env)
    await env.client.put(url, headers=headers, json={"user_metadata": {"x": 1}})
    await env.client.put(url, headers=headers, json={"ban_duration": "2h"})
    await env.client.delete(url, headers=headers)
    expected = {"auth.user.created": 1, "auth.user.updated": 2, "auth.user.banned": 1,
                "auth.user.deleted": 1}  # fmt: skip
    for action, count in expected.items():
        entries = await audit_entries(env, action)
        assert len(entries) == count, (action, entries)
        for entry in entries:
            assert entry["target"] == f"user:{user['id']}" and entry["details"]["by"] == "admin"
            assert entry["actor"].startswith("service_role"), entry
    updates = await audit_entries(env, "auth.user.updated")
    assert sorted(e["details"]["fields"][0] for e in updates) == ["ban_duration", "user_metadata"]


async def test_browsers_may_read_the_pagination_headers(env: ScenarioEnv) -> None:
    headers = {**await service(env), "Origin": "https://console.example"}
    response = await env.client.get("/auth/v1/admin/users", headers=headers)
    exposed = response.headers["access-control-expose-headers"].lower().split(",")
    assert {"x-total-count", "link"} <= {name.strip() for name in exposed}
