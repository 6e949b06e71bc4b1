"""supabase-py, the real PyPI client, on the auth admin API of a live server (two workers):
create, list, read, ban, sign out, delete — and the brute-force delay holding across the
workers (they share the machine's limiter file)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from supabase import Client, create_client
from supabase_auth._sync.gotrue_admin_api import SyncGoTrueAdminAPI
from supabase_auth.errors import AuthApiError

from apprun.testing.live import LiveServer
from tests.e2e.conftest import service_role_key

pytestmark = [
    pytest.mark.live,
    pytest.mark.filterwarnings(
        "ignore:The '(timeout|verify)' parameter is deprecated"
        ":DeprecationWarning:supabase._sync.client"
    ),
]
PASSWORD = "a long and unusual passphrase"


def anon_key(server: LiveServer) -> str:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        token = client.post(
            "/admin/v1/auth/token",
            json={"email": "admin@example.com", "password": "correct horse battery staple"},
        ).json()["access_token"]
        keys = client.get(
            "/admin/v1/projects/default/keys", headers={"Authorization": f"Bearer {token}"}
        ).json()
    return str(next(k["key"] for k in keys if k["name"] == "anon"))


def api_error(call: object) -> AuthApiError:
    assert callable(call)
    with pytest.raises(AuthApiError) as raised:
        call()
    return raised.value


@contextmanager
def client(url: str, key: str) -> Iterator[Client]:
    made = create_client(url, key)
    try:
        yield made
    finally:
        made.auth.close()


def test_admin_api_through_supabase_py(live_server: LiveServer) -> None:
    service_key = service_role_key(live_server)
    with (
        client(live_server.url, service_key) as service,
        client(live_server.url, anon_key(live_server)) as users,
    ):
        user_id = manage_users(service.auth.admin, users)
        brute_force(users)
        service.auth.admin.delete_user(user_id)
        missing = api_error(lambda: service.auth.admin.get_user_by_id(user_id))
        assert missing.status == 404 and missing.code == "user_not_found"


def manage_users(admin: SyncGoTrueAdminAPI, users: Client) -> str:
    created = admin.create_user(
        {"email": "ada@example.com", "password": PASSWORD, "email_confirm": True,
         "user_metadata": {"name": "Ada"}, "app_metadata": {"plan": "pro"}}
    ).user  # fmt: skip
    assert created.email == "ada@example.com" and created.user_metadata == {"name": "Ada"}
    assert created.app_metadata["plan"] == "pro" and created.identities
    admin.create_user({"email": "bob@example.com", "email_confirm": True})
    assert [u.email for u in admin.list_users()] == ["bob@example.com", "ada@example.com"]
    assert len(admin.list_users(page=2, per_page=1)) == 1
    assert admin.get_user_by_id(created.id).user.id == created.id
    duplicate = api_error(lambda: admin.create_user({"email": "ada@example.com"}))
    assert duplicate.code == "email_exists" and duplicate.status == 422

    session = users.auth.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD})
    assert session.session is not None
    banned = admin.update_user_by_id(created.id, {"ban_duration": "1h"}).user
    assert banned.banned_until is not None
    refused = api_error(
        lambda: users.auth.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD})
    )
    assert refused.code == "user_banned"
    admin.update_user_by_id(created.id, {"ban_duration": "none"})
    again = users.auth.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD})
    assert again.session is not None
    admin.sign_out(again.session.access_token, "global")
    gone = api_error(lambda: users.auth.get_user(again.session.access_token))  # type: ignore[union-attr]
    assert gone.code == "session_not_found"

    return created.id


def brute_force(users: Client) -> None:
    """Five wrong passwords, then even the right one waits, whichever worker answers."""
    for _ in range(5):
        wrong = api_error(
            lambda: users.auth.sign_in_with_password(
                {"email": "ada@example.com", "password": "wrong"}
            )
        )
        assert wrong.code == "invalid_credentials"
    for _ in range(4):
        waiting = api_error(
            lambda: users.auth.sign_in_with_password(
                {"email": "ada@example.com", "password": PASSWORD}
            )
        )
        assert waiting.status == 429 and waiting.code == "over_request_rate_limit"
