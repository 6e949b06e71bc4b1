"""supabase-js, the real npm client under Node, on the auth admin API of a live server:
``js/admin.mjs`` runs the steps and prints what the client gave back; the assertions are here.
``listUsers`` parses ``X-Total-Count`` and ``Link`` itself, so this checks their exact form."""

from __future__ import annotations

from typing import Any

import pytest

from apprun.testing.live import LiveServer
from tests.e2e.conftest import check_js_steps, service_role_key
from tests.e2e.test_supabase_py_admin import anon_key

pytestmark = pytest.mark.live

EXPECTED: dict[str, Any] = {
    "create": {"email": "ada@example.com", "plan": "pro", "error": None},
    "create more": ["bob@example.com", "eve@example.com"],
    "duplicate": {"status": 422, "code": "email_exists", "name": "AuthApiError"},
    "list page 1": {
        "emails": ["eve@example.com", "bob@example.com"],
        "nextPage": 2,
        "lastPage": 2,
        "total": 3,
        "error": None,
    },
    "list defaults": {"count": 3, "lastPage": 1, "total": 3},
    "get": {"id": True, "error": None},
    "ban": {"banned": True, "error": None},
    "banned sign-in": {"status": 400, "code": "user_banned", "name": "AuthApiError"},
    "unban, sign in, admin sign-out": {
        "signOut": None,
        # supabase-js turns session_not_found into its AuthSessionMissingError.
        "after": {"status": 400, "code": None, "name": "AuthSessionMissingError"},
    },
    "delete": {
        "error": None,
        "after": {"status": 404, "code": "user_not_found", "name": "AuthApiError"},
    },
}


def test_admin_api_through_supabase_js(
    node: str, live_server: LiveServer, subtests: pytest.Subtests
) -> None:
    service_key = service_role_key(live_server)
    check_js_steps(
        node, "admin.mjs", [live_server.url, service_key, anon_key(live_server)], EXPECTED, subtests
    )
