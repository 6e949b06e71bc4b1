"""supabase-js, the real npm client under Node, doing MFA with TOTP against a live server:
enroll, challenge, verify (codes by ``oathtool``), assurance levels, a reused code, unenroll.
``js/mfa.mjs`` runs the steps and prints what the client gave back; the assertions are here."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import httpx
import pytest

from apprun.testing.live import LiveServer
from apprun.testing.scenario import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.conftest import JS_DIR
from tests.modules.auth.mfa_support import require_oathtool

pytestmark = pytest.mark.live
CONFIG_CACHE_SECONDS = 2.5  # each worker may hold the auth settings that long

EXPECTED: dict[str, dict[str, Any]] = {
    "sign up": {"session": True, "error": None},
    "enroll": {
        "type": "totp",
        "friendly_name": "js",
        "qr_code_is_data_url": True,
        "uri_is_otpauth": True,
        "error": None,
    },
    "assurance before": {"current": "aal1", "next": "aal1", "error": None},
    "challenge and verify": {
        "challenge_type": "totp",
        "expires_in_future": True,
        "session": True,
        "error": None,
    },
    "assurance after": {
        "current": "aal2",
        "next": "aal2",
        "methods": ["totp", "password"],
        "error": None,
    },
    "list factors": {"all": ["verified"], "totp": [True], "error": None},
    "the same code again": {
        "error": {"name": "AuthApiError", "status": 422, "code": "mfa_verification_failed"}
    },
    "unenroll": {"same_id": True, "error": None},
}


def anon_key(server: LiveServer) -> str:
    """The default project's anon key, with sign-ups auto-confirmed."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        signed_in = client.post(
            "/admin/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        admin = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        keys = {k["name"]: k["key"] for k in client.get("/admin/v1/projects/default/keys",
                                                        headers=admin).json()}  # fmt: skip
        service = {
            "apikey": keys["service_role"],
            "Authorization": f"Bearer {keys['service_role']}",
        }
        patched = client.patch(
            "/admin/v1/auth/config", headers=service, json={"mailer_autoconfirm": True}
        )
        assert patched.status_code == 200, patched.text
    time.sleep(CONFIG_CACHE_SECONDS)
    return keys["anon"]


def test_mfa_through_supabase_js(
    node: str, live_server: LiveServer, subtests: pytest.Subtests
) -> None:
    require_oathtool()
    key = anon_key(live_server)
    done = subprocess.run(
        [node, str(JS_DIR / "mfa.mjs"), live_server.url, key, "ada@example.com",
         "a long and unusual passphrase"],
        cwd=JS_DIR, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"mfa.mjs exited with {done.returncode}:\n{done.stderr}"
    steps: dict[str, Any] = json.loads(done.stdout)["steps"]
    assert list(steps) == list(EXPECTED), "mfa.mjs and EXPECTED name different steps"
    for name, expected in EXPECTED.items():
        with subtests.test(name):
            assert steps[name] == expected, f"step {name!r}"
