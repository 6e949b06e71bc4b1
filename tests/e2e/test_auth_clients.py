"""supabase-py and supabase-js, the real clients, through /auth/v1 of a live server: sign up,
confirm with the code from the mail a real SMTP server received, sign in, verify the token from
the JWKS, refresh, update the user, enroll and verify a TOTP factor, sign out."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
import redis
from supabase import Client, create_client
from supabase_auth.errors import AuthApiError, AuthSessionMissingError

from apprun.testing.databases import TestDatabase
from apprun.testing.live import LiveServer, start_live_server
from apprun.testing.scenario import ADMIN_EMAIL, ADMIN_PASSWORD
from apprun.testing.smtp import SmtpServer
from tests.e2e.conftest import JS_DIR, service_role_key

pytestmark = [
    pytest.mark.live,
    pytest.mark.filterwarnings(
        "ignore:The '(timeout|verify)' parameter is deprecated"
        ":DeprecationWarning:supabase._sync.client"
    ),
]
PASSWORD = "a long and unusual passphrase"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def live_server(database: TestDatabase) -> Iterator[LiveServer]:
    """Two workers that share live sessions through Redis, so that a sign-out on one is
    refused at once by the other (without Redis each worker may trust a session it saw
    for up to two seconds). Rate limits stay in the machine's shared file: Redis would
    carry them over from one test run to the next."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis must run on 127.0.0.1:6379 for this test: {exc}")
    extra = {"APPRUN_REDIS_URL": REDIS_URL, "APPRUN_RATE_LIMIT__BACKEND": "local"}
    server = start_live_server(database, workers=2, extra_env=extra)
    try:
        yield server
    finally:
        server.stop()


def keys(server: LiveServer, smtp: SmtpServer) -> str:
    """Point the default project's mail at ``smtp`` and its site at localhost:3000; → its
    anon key."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        configured = client.patch(
            "/admin/v1/auth/config",
            headers={"apikey": service_role_key(server)},
            json={"smtp": smtp.config()},
        )
        assert configured.status_code == 200, configured.text
        site = client.patch(
            "/admin/v1/settings",
            headers={"apikey": service_role_key(server)},
            json={"site_url": "http://localhost:3000"},
        )
        assert site.status_code == 200, site.text
        token = client.post(
            "/admin/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        ).json()["access_token"]
        listed = client.get(
            "/admin/v1/projects/default/keys", headers={"Authorization": f"Bearer {token}"}
        )
        return str(next(k["key"] for k in listed.json() if k["name"] == "anon"))


def test_supabase_py_auth(
    live_server: LiveServer, smtp_server: SmtpServer, subtests: pytest.Subtests
) -> None:
    anon = keys(live_server, smtp_server)
    client = create_client(live_server.url, anon)
    try:
        steps_of_supabase_py(client, smtp_server, subtests)
    finally:
        client.auth._http_client.close()
        client.auth.admin._http_client.close()


def steps_of_supabase_py(
    client: Client, smtp_server: SmtpServer, subtests: pytest.Subtests
) -> None:
    email = "ada.py@example.com"
    with subtests.test("sign_up mails a confirmation and opens no session"):
        signed_up = client.auth.sign_up({"email": email, "password": PASSWORD})
        assert signed_up.session is None and signed_up.user is not None
        assert signed_up.user.email == email
    with (
        subtests.test("sign-in before confirming is refused"),
        pytest.raises(AuthApiError) as refused,
    ):
        client.auth.sign_in_with_password({"email": email, "password": PASSWORD})
    assert refused.value.code == "email_not_confirmed"
    code = smtp_server.last(email).code()
    with subtests.test("verify_otp with the mailed code"):
        verified = client.auth.verify_otp({"email": email, "token": code, "type": "signup"})
        assert verified.session is not None and verified.user is not None
        assert verified.user.email_confirmed_at is not None
    session = client.auth.sign_in_with_password({"email": email, "password": PASSWORD}).session
    assert session is not None
    with subtests.test("get_claims verifies the token from the JWKS"):
        claims = client.auth.get_claims()
        assert claims is not None
        assert claims["headers"]["alg"] == "ES256" and claims["claims"]["email"] == email
    with subtests.test("refresh_session rotates the refresh token"):
        refreshed = client.auth.refresh_session()
        assert refreshed.session is not None
        assert refreshed.session.refresh_token != session.refresh_token
    with subtests.test("update_user merges the metadata"):
        updated = client.auth.update_user({"data": {"theme": "dark"}})
        assert updated.user.user_metadata == {"theme": "dark"}
    with subtests.test("TOTP: enroll, challenge, verify → aal2"):
        enrolled = client.auth.mfa.enroll({"factor_type": "totp", "friendly_name": "phone"})
        assert enrolled.totp is not None and "<svg" in enrolled.totp.qr_code
        challenge = client.auth.mfa.challenge({"factor_id": enrolled.id})
        client.auth.mfa.verify(
            {
                "factor_id": enrolled.id,
                "challenge_id": challenge.id,
                "code": pyotp.TOTP(enrolled.totp.secret).now(),
            }
        )
        level = client.auth.mfa.get_authenticator_assurance_level()
        assert level.current_level == "aal2"
    last = client.auth.get_session()
    assert last is not None
    with subtests.test("sign_out ends the session: its token is refused"):
        client.auth.sign_out()
        with pytest.raises((AuthApiError, AuthSessionMissingError)):
            client.auth.get_user(last.access_token)


def run(node: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [node, str(JS_DIR / "auth.mjs"), *args],
        cwd=JS_DIR, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"auth.mjs exited with {done.returncode}:\n{done.stderr}")
    steps: dict[str, Any] = json.loads(done.stdout)["steps"]
    return steps


def no_error(**fields: Any) -> dict[str, Any]:
    return {"error": None, **fields}


def code_of(code: str, status: int) -> dict[str, Any]:
    return {"error": {"name": "AuthApiError", "status": status, "code": code}}


JS_SIGNUP = {
    "signUp": no_error(session=False, email="ada.js@example.com", confirmed=None, name="Ada"),
    "signIn before confirming": code_of("email_not_confirmed", 400),
}
JS_SESSION = {
    "verifyOtp": no_error(session=True, confirmed=True),
    "signInWithPassword": no_error(email="ada.js@example.com", token_type="bearer"),
    "getClaims": no_error(
        alg="ES256", role="authenticated", aal="aal1", email="ada.js@example.com"
    ),
    "refreshSession": no_error(rotated=True, same_user=True),
    "reuse of the first refresh token": no_error(),
    "updateUser": no_error(metadata={"name": "Ada L.", "theme": "dark"}),
    "mfa.enroll": no_error(type="totp", svg=True, uri=True),
    "mfa.challengeAndVerify": no_error(has_token=True),
    "getAuthenticatorAssuranceLevel": no_error(current="aal2", next="aal2"),
    "mfa.listFactors": no_error(totp=["verified"]),
    "signOut": no_error(),
    # supabase-js turns session_not_found into AuthSessionMissingError.
    "getUser with the signed-out token": {
        "error": {"name": "AuthSessionMissingError"},
        "user": None,
    },
}


def compared(result: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    if "thrown" in result:
        return result
    got = {key: result.get(key) for key in expected}
    if isinstance(expected.get("error"), dict) and isinstance(got["error"], dict):
        got["error"] = {key: got["error"].get(key) for key in expected["error"]}
    return got


def test_supabase_js_auth(
    node: str, live_server: LiveServer, smtp_server: SmtpServer, subtests: pytest.Subtests
) -> None:
    anon = keys(live_server, smtp_server)
    email = "ada.js@example.com"
    base = [live_server.url, anon, email, PASSWORD]
    for phase, expected in (("signup", JS_SIGNUP), ("session", JS_SESSION)):
        extra = [smtp_server.last(email).code()] if phase == "session" else []
        steps = run(node, *base, phase, *extra)
        assert list(steps) == list(expected), f"auth.mjs and the test name different {phase} steps"
        for name, want in expected.items():
            with subtests.test(name):
                assert compared(steps[name], want) == want, f"step {name!r}"


def test_supabase_js_pkce_exchange(
    node: str, live_server: LiveServer, smtp_server: SmtpServer
) -> None:
    """flowType "pkce": the confirmation link redirects with ?code=, which supabase-js
    exchanges (exchangeCodeForSession) with the verifier it kept."""
    anon = keys(live_server, smtp_server)
    email, site = "ada.pkce@example.com", "http://localhost:3000/welcome"
    command = [node, str(JS_DIR / "pkce.mjs"), live_server.url, anon, email, PASSWORD, site]
    with subprocess.Popen(
        command, cwd=JS_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None and process.stdin is not None
        first = json.loads(process.stdout.readline() or "{}")
        assert first == {"signUp": {"error": None, "session": False, "verifierKept": True}}
        link = smtp_server.last(email).link()
        assert "token=pkce_" in link
        redirected = httpx.get(link, follow_redirects=False, timeout=30)
        assert redirected.status_code == 303, redirected.text
        location = urlsplit(redirected.headers["location"])
        assert location.path == "/welcome"
        process.stdin.write(parse_qs(location.query)["code"][0] + "\n")
        process.stdin.flush()
        second = json.loads(process.stdout.readline() or "{}")
        process.wait(timeout=30)
    assert second == {
        "exchangeCodeForSession": {"error": None, "session": True, "email": email},
        "getUser": {"error": None, "confirmed": True},
    }
