"""Collections and real signed-in users: relation fields to ``auth.users`` are foreign keys to
the project's users (with on_delete), and policies see the users that /auth/v1 signs in —
their tokens beside the anon key on /rest/v1, as supabase-js sends them."""

from __future__ import annotations

from typing import Any

import pytest

from apprun.core.clock import ManualClock
from apprun.testing import ApiScenario, ScenarioEnv, as_anon, as_service, no_auth, scenarios
from tests.modules.auth.conftest import bearer, configure, signed_up
from tests.modules.auth.users import USER_A, USER_B, admin_create, service, sign_in

pytestmark = pytest.mark.anyio
A_EMAIL, B_EMAIL = "ada@example.com", "bob@example.com"
OWNER_ONLY = "owner = @auth.id"


def notes(on_delete: str = "cascade", **changes: Any) -> dict[str, Any]:
    return {
        "name": "notes",
        "fields": [
            {"name": "title", "type": "text", "required": True},
            {"name": "owner", "type": "relation", "collection": "auth.users",
             "on_delete": on_delete},
        ],
        "policies": {"select": OWNER_ONLY, "insert": OWNER_ONLY, "update": OWNER_ONLY,
                     "delete": OWNER_ONLY},
        "grants": {"anon": ["select"],
                   "authenticated": ["select", "insert", "update", "delete"]},
        **changes,
    }  # fmt: skip


async def create_collection(env: ScenarioEnv, spec: dict[str, Any]) -> Any:
    response = await env.client.post(
        "/admin/v1/collections", headers=await env.key_headers("default", "service_role"),
        json=spec,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return response.json()


async def users_and_notes(env: ScenarioEnv) -> None:
    """Ada and Bob (ids USER_A, USER_B) with one note each."""
    await configure(env, mailer_autoconfirm=True)
    for user_id, email in ((USER_A, A_EMAIL), (USER_B, B_EMAIL)):
        await admin_create(env, id=user_id, email=email, password="a long and unusual passphrase")
    await create_collection(env, notes())
    rows = [
        {"id": "note-a", "title": "Ada's", "owner": USER_A},
        {"id": "note-b", "title": "Bob's", "owner": USER_B},
    ]
    inserted = await env.client.post(
        "/rest/v1/notes", headers=await env.key_headers("default", "service_role"), json=rows
    )
    assert inserted.status_code == 201, inserted.text


class SignedIn:
    """A user's password sign-in through /auth/v1, then its token beside the anon key."""

    def __init__(self, email: str) -> None:
        self.email = email

    async def headers(self, env: ScenarioEnv) -> dict[str, str]:
        session = await sign_in(env, self.email)
        return {"Prefer": "return=representation", **await bearer(env, session)}


ADA, BOB = SignedIn(A_EMAIL), SignedIn(B_EMAIL)

OWNER_CASES = scenarios(
    ApiScenario("ada sees only her note", "GET", "/rest/v1/notes?select=id", auth=ADA,
                setup=users_and_notes, expected_len=1, expected_content=('"note-a"',)),
    ApiScenario("bob sees only his note", "GET", "/rest/v1/notes?select=id", auth=BOB,
                setup=users_and_notes, expected_len=1, expected_content=('"note-b"',)),
    ApiScenario("anon key sees none", "GET", "/rest/v1/notes", auth=as_anon(),
                setup=users_and_notes, expected_len=0),
    ApiScenario("no key sees none", "GET", "/rest/v1/notes", auth=no_auth(),
                setup=users_and_notes, expected_len=0),
    ApiScenario("anon key cannot insert", "POST", "/rest/v1/notes", auth=as_anon(),
                json={"title": "x", "owner": USER_A}, setup=users_and_notes,
                expected_status=401, expected_hooks={"data.row.inserted": 0}),
    ApiScenario("service role sees all", "GET", "/rest/v1/notes", auth=as_service(),
                setup=users_and_notes, expected_len=2),
    ApiScenario("ada inserts her own note", "POST", "/rest/v1/notes", auth=ADA,
                json={"title": "new", "owner": USER_A}, setup=users_and_notes,
                expected_status=201, expected_hooks={"data.row.inserted": 1}),
    ApiScenario("ada cannot insert as bob", "POST", "/rest/v1/notes", auth=ADA,
                json={"title": "forged", "owner": USER_B}, setup=users_and_notes,
                expected_status=403, expected_hooks={"data.row.inserted": 0}),
    ApiScenario("ada edits her note", "PATCH", "/rest/v1/notes?id=eq.note-a", auth=ADA,
                json={"title": "edited"}, setup=users_and_notes, expected_len=1,
                expected_content=('"edited"',)),
    ApiScenario("ada cannot edit bob's note", "PATCH", "/rest/v1/notes?id=eq.note-b",
                auth=ADA, json={"title": "hijacked"}, setup=users_and_notes, expected_len=0,
                expected_hooks={"data.row.updated": 0}),
    ApiScenario("bob cannot delete ada's note", "DELETE", "/rest/v1/notes?id=eq.note-a",
                auth=BOB, setup=users_and_notes, expected_len=0,
                expected_hooks={"data.row.deleted": 0}),
    ApiScenario("ada cannot give her note to bob", "PATCH", "/rest/v1/notes?id=eq.note-a",
                auth=ADA, json={"owner": USER_B}, setup=users_and_notes,
                expected_status=403),
)  # fmt: skip


@pytest.mark.parametrize("case", OWNER_CASES)
async def test_owner_policy_with_real_users(case: ApiScenario, env: ScenarioEnv) -> None:
    await case.run(env)
    rows = await env.client.get("/rest/v1/notes?order=id", headers=await service(env))
    titles = {row["id"]: row["title"] for row in rows.json()}
    assert titles["note-b"] == "Bob's" and titles.get("note-a") in ("Ada's", "edited")


async def test_relation_is_a_foreign_key_to_users(env: ScenarioEnv) -> None:
    headers = await env.key_headers("default", "service_role")
    plan = await env.client.post("/admin/v1/collections?dry_run=true", headers=headers,
                                 json=notes())  # fmt: skip
    assert plan.status_code == 200, plan.text
    ddl = " ".join(plan.json()["ddl"])
    assert "REFERENCES users (id) ON DELETE CASCADE" in ddl, ddl
    await users_and_notes(env)
    unknown = await env.client.post(
        "/rest/v1/notes", headers=headers, json={"title": "x", "owner": USER_A[:-1] + "f"}
    )
    assert unknown.status_code == 409, unknown.text
    assert unknown.json()["code"] == "23503"


async def test_unknown_relation_targets_are_still_refused(env: ScenarioEnv) -> None:
    spec = notes()
    spec["fields"][1]["collection"] = "auth.sessions"
    response = await env.client.post(
        "/admin/v1/collections", headers=await env.key_headers("default", "service_role"),
        json=spec,
    )  # fmt: skip
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    ("on_delete", "after"), [("cascade", None), ("set null", "null"), ("restrict", "kept")]
)
async def test_deleting_a_user_follows_on_delete(
    env: ScenarioEnv, on_delete: str, after: str | None
) -> None:
    await configure(env, mailer_autoconfirm=True)
    await admin_create(env, id=USER_A, email=A_EMAIL)
    await create_collection(env, notes(on_delete))
    headers = await service(env)
    await env.client.post("/rest/v1/notes", headers=headers,
                          json={"id": "n1", "title": "x", "owner": USER_A})  # fmt: skip
    deleted = await env.client.delete(f"/auth/v1/admin/users/{USER_A}", headers=headers)
    rows = (await env.client.get("/rest/v1/notes", headers=headers)).json()
    user = await env.client.get(f"/auth/v1/admin/users/{USER_A}", headers=headers)
    if after is None:
        assert deleted.status_code == 200 and rows == []
    elif after == "null":
        assert deleted.status_code == 200 and rows[0]["owner"] is None
    else:
        assert deleted.status_code == 409, deleted.text
        assert deleted.json()["code"] == "conflict"
        assert rows[0]["owner"] == USER_A and user.status_code == 200  # nothing changed
        roles_kept = user.json()["identities"]
        assert roles_kept, "a refused deletion keeps the user's identities"
    if after is not None and after != "kept":
        assert user.status_code == 404


async def test_relation_to_users_added_and_rebuilt(env: ScenarioEnv) -> None:
    """Adding the field (ALTER) and changing its on_delete (a table rebuild) keep the key."""
    await configure(env, mailer_autoconfirm=True)
    await admin_create(env, id=USER_A, email=A_EMAIL)
    headers = await service(env)
    plain = {"name": "notes", "fields": [{"name": "title", "type": "text"}]}
    await create_collection(env, plain)
    owner = {"name": "owner", "type": "relation", "collection": "auth.users",
             "on_delete": "cascade"}  # fmt: skip
    added = await env.client.patch("/admin/v1/collections/notes", headers=headers,
                                   json={"fields": [plain["fields"][0], owner]})  # fmt: skip
    assert added.status_code == 200, added.text
    bad = await env.client.post("/rest/v1/notes", headers=headers,
                                json={"title": "x", "owner": USER_B})  # fmt: skip
    assert bad.status_code == 409, bad.text
    rebuilt = await env.client.patch(
        "/admin/v1/collections/notes", headers=headers,
        json={"fields": [plain["fields"][0], {**owner, "on_delete": "set null"}]},
    )  # fmt: skip
    assert rebuilt.status_code == 200, rebuilt.text
    await env.client.post("/rest/v1/notes", headers=headers,
                          json={"id": "n1", "title": "x", "owner": USER_A})  # fmt: skip
    still_bad = await env.client.post("/rest/v1/notes", headers=headers,
                                      json={"title": "y", "owner": USER_B})  # fmt: skip
    assert still_bad.status_code == 409, still_bad.text
    await env.client.delete(f"/auth/v1/admin/users/{USER_A}", headers=headers)
    rows = (await env.client.get("/rest/v1/notes", headers=headers)).json()
    assert rows == [{"id": "n1", "title": "x", "owner": None, **_stamps(rows[0])}]


def _stamps(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("created_at", "updated_at")}


async def test_schema_document_may_relate_to_users(env: ScenarioEnv) -> None:
    spec = notes()
    spec.pop("grants")
    response = await env.client.post(
        "/admin/v1/schema/apply", headers=await env.key_headers("default", "service_role"),
        json={"collections": [spec]},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    await admin_create(env, id=USER_A, email=A_EMAIL)
    ok = await env.client.post("/rest/v1/notes", headers=await service(env),
                               json={"title": "x", "owner": USER_A})  # fmt: skip
    assert ok.status_code == 201, ok.text


async def test_embedding_users_is_refused_cleanly(env: ScenarioEnv) -> None:
    await users_and_notes(env)
    response = await env.client.get(
        "/rest/v1/notes?select=id,owner(email)", headers=await service(env)
    )
    assert response.status_code == 400 and response.json()["code"] == "PGRST200", response.text


ARTICLES: dict[str, Any] = {
    "name": "articles",
    "fields": [{"name": "title", "type": "text"}, {"name": "author_email", "type": "email"}],
    "policies": {"select": '@auth.roles ?= "editor" || author_email = @auth.email',
                 "update": '@auth.roles ?= "editor"'},
    "grants": {"authenticated": ["select", "update"]},
}  # fmt: skip


async def test_role_and_email_policies_with_admin_assigned_roles(env: ScenarioEnv) -> None:
    await configure(env, mailer_autoconfirm=True)
    created = await env.client.post(
        "/admin/v1/roles", headers=await env.admin_headers(), json={"name": "editor"}
    )
    assert created.status_code == 201, created.text
    await create_collection(env, ARTICLES)
    rows = [{"id": "by-ada", "title": "1", "author_email": A_EMAIL},
            {"id": "by-eve", "title": "2", "author_email": "eve@example.com"}]  # fmt: skip
    await env.client.post("/rest/v1/articles", headers=await service(env), json=rows)
    ada = await bearer(env, await signed_up(env, A_EMAIL))
    bob = await bearer(env, await signed_up(env, B_EMAIL))
    prefer = {"Prefer": "return=representation"}
    assert [r["id"] for r in (await env.client.get("/rest/v1/articles", headers=ada)).json()] == [
        "by-ada"
    ]
    edit = await env.client.patch("/rest/v1/articles?id=eq.by-eve", headers={**bob, **prefer},
                                  json={"title": "x"})  # fmt: skip
    assert edit.json() == []
    bob_id = (await env.client.get("/auth/v1/user", headers=bob)).json()["id"]
    assigned = await env.client.put(f"/auth/v1/admin/users/{bob_id}", headers=await service(env),
                                    json={"app_metadata": {"roles": ["editor"]}})  # fmt: skip
    assert assigned.status_code == 200, assigned.text
    # The role holds at once, with the token Bob already has.
    seen = (await env.client.get("/rest/v1/articles?order=id", headers=bob)).json()
    assert [r["id"] for r in seen] == ["by-ada", "by-eve"]
    edit = await env.client.patch("/rest/v1/articles?id=eq.by-eve", headers={**bob, **prefer},
                                  json={"title": "edited"})  # fmt: skip
    assert [r["title"] for r in edit.json()] == ["edited"]
    revoked = await env.client.put(f"/auth/v1/admin/users/{bob_id}", headers=await service(env),
                                   json={"app_metadata": {"roles": []}})  # fmt: skip
    assert revoked.status_code == 200
    assert (await env.client.get("/rest/v1/articles", headers=bob)).json() == []


@pytest.mark.parametrize(
    ("rule", "visible"), [('@auth.aal = "aal1"', 1), ('@auth.aal = "aal2"', 0)]
)
async def test_aal_policy(env: ScenarioEnv, rule: str, visible: int) -> None:
    await configure(env, mailer_autoconfirm=True)
    await create_collection(env, {"name": "vault", "fields": [{"name": "v", "type": "text"}],
                                  "policies": {"select": rule},
                                  "grants": {"authenticated": ["select"]}})  # fmt: skip
    await env.client.post("/rest/v1/vault", headers=await service(env), json={"v": "x"})
    ada = await bearer(env, await signed_up(env, A_EMAIL))
    assert len((await env.client.get("/rest/v1/vault", headers=ada)).json()) == visible


async def test_tokens_that_no_longer_hold_are_refused(env: ScenarioEnv, clock: ManualClock) -> None:
    await users_and_notes(env)
    created = await env.client.post(
        "/admin/v1/projects", headers=await env.admin_headers(), json={"id": "other", "name": "O"}
    )
    assert created.status_code == 201, created.text
    ada = await bearer(env, await sign_in(env, A_EMAIL))
    assert len((await env.client.get("/rest/v1/notes", headers=ada)).json()) == 1
    # A user of another project, with this project's anon key: refused.
    stranger = await signed_up(env, "stranger@example.com", project="other")
    foreign = {**await bearer(env, stranger, "other"), "apikey": ada["apikey"]}
    refused = await env.client.get("/rest/v1/notes", headers=foreign)
    assert refused.status_code == 401, refused.text
    # After sign-out: refused.
    session = await sign_in(env, A_EMAIL)
    signed_out = await bearer(env, session)
    assert (await env.client.post("/auth/v1/logout?scope=local", headers=signed_out)).status_code
    assert (await env.client.get("/rest/v1/notes", headers=signed_out)).status_code == 401
    # Once expired (tokens live an hour): refused.
    clock.advance(3601)
    expired = await env.client.get("/rest/v1/notes", headers=ada)
    assert expired.status_code == 401, expired.text


async def test_relation_field_added_to_a_collection_with_rows(env: ScenarioEnv) -> None:
    """SQLite cannot add a foreign key in place: the table is rebuilt, rows kept (this was a
    500 before)."""
    headers = await env.key_headers("default", "service_role")
    for name in ("cats", "dogs"):
        await create_collection(env, {"name": name, "fields": [{"name": "n", "type": "text"}]})
    await env.client.post("/rest/v1/cats", headers=headers, json={"id": "c1", "n": "tom"})
    await env.client.post("/rest/v1/dogs", headers=headers, json={"id": "d1", "n": "rex"})
    fields = [{"name": "n", "type": "text"},
              {"name": "cat", "type": "relation", "collection": "cats"}]  # fmt: skip
    added = await env.client.patch("/admin/v1/collections/dogs", headers=headers,
                                   json={"fields": fields})  # fmt: skip
    assert added.status_code == 200, added.text
    linked = await env.client.patch("/rest/v1/dogs?id=eq.d1", headers=headers, json={"cat": "c1"})
    assert linked.status_code in (200, 204), linked.text
    broken = await env.client.patch("/rest/v1/dogs?id=eq.d1", headers=headers, json={"cat": "zz"})
    assert broken.status_code == 409, broken.text
    rows = (await env.client.get("/rest/v1/dogs", headers=headers)).json()
    assert [(r["id"], r["n"], r["cat"]) for r in rows] == [("d1", "rex", "c1")]
