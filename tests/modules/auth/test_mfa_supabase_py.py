"""supabase-py's own MFA calls (``supabase_auth``, the PyPI client) against apprun, in-process:
its parsers are the contract (GoTrue's shapes), and its flow is what apps run."""

from __future__ import annotations

import pytest
from supabase_auth import AsyncGoTrueAdminAPI, AsyncGoTrueClient
from supabase_auth.errors import AuthApiError

from apprun.core.clock import ManualClock
from apprun.testing import ScenarioEnv
from tests.modules.auth.conftest import PASSWORD, signed_up
from tests.modules.auth.mfa_support import code_at_step, current_step

pytestmark = pytest.mark.anyio
AUTH_URL = "http://apprun.test/auth/v1"


async def test_supabase_py_enrolls_verifies_and_unenrolls(
    env: ScenarioEnv, clock: ManualClock
) -> None:
    await signed_up(env, "ada@example.com")
    key = await env.key("default", "anon")
    client = AsyncGoTrueClient(
        url=AUTH_URL,
        headers={"apikey": key, "Authorization": f"Bearer {key}"},
        http_client=env.client,
        auto_refresh_token=False,
    )
    signed_in = await client.sign_in_with_password(
        {"email": "ada@example.com", "password": PASSWORD}
    )
    assert signed_in.session is not None
    enrolled = await client.mfa.enroll({"factor_type": "totp", "friendly_name": "py"})
    assert enrolled.totp is not None and enrolled.totp.qr_code.startswith("data:image/svg+xml")
    challenge = await client.mfa.challenge({"factor_id": enrolled.id})
    code = code_at_step(enrolled.totp.secret, current_step(clock))
    verified = await client.mfa.verify(
        {"factor_id": enrolled.id, "challenge_id": challenge.id, "code": code}
    )
    assert verified.user.factors and verified.user.factors[0].status == "verified"
    level = await client.mfa.get_authenticator_assurance_level()
    assert (level.current_level, level.next_level) == ("aal2", "aal2")
    assert [m.method for m in level.current_authentication_methods] == ["totp", "password"]
    factors = await client.mfa.list_factors()
    assert [f.id for f in factors.totp] == [enrolled.id]
    with pytest.raises(AuthApiError) as reused:  # the same code again
        await client.mfa.challenge_and_verify({"factor_id": enrolled.id, "code": code})
    assert reused.value.code == "mfa_verification_failed" and reused.value.status == 422
    unenrolled = await client.mfa.unenroll({"factor_id": enrolled.id})
    assert unenrolled.id == enrolled.id


async def test_supabase_py_admin_lists_and_deletes(env: ScenarioEnv) -> None:
    session = await signed_up(env, "ada@example.com")
    key = await env.key("default", "service_role")
    admin = AsyncGoTrueAdminAPI(
        url=AUTH_URL,
        headers={"apikey": key, "Authorization": f"Bearer {key}"},
        http_client=env.client,
    )
    user_id = session["user"]["id"]
    assert await admin.mfa.list_factors({"user_id": user_id}) == []
    factor = await env.client.post(
        "/auth/v1/factors",
        headers={
            "apikey": await env.key("default", "anon"),
            "Authorization": f"Bearer {session['access_token']}",
        },
        json={"factor_type": "totp"},
    )
    listed = await admin.mfa.list_factors({"user_id": user_id})
    assert [(f.id, f.status) for f in listed] == [(factor.json()["id"], "unverified")]
    deleted = await admin.mfa.delete_factor({"user_id": user_id, "id": factor.json()["id"]})
    assert deleted.id == factor.json()["id"]
    assert await admin.mfa.list_factors({"user_id": user_id}) == []
