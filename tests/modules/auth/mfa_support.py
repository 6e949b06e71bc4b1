"""Helpers of the MFA tests: TOTP codes computed by ``oathtool`` (Debian's OATH toolkit, an
implementation independent of apprun's), and the enroll → challenge → verify steps."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import httpx
import jwt as pyjwt
import pytest

from apprun.core.clock import ManualClock
from apprun.testing import ScenarioEnv
from tests.modules.auth.conftest import anon, bearer, signed_up

PERIOD = 30


def require_oathtool() -> None:
    if shutil.which("oathtool") is not None:
        return
    message = "oathtool is not installed (make test installs it: scripts/ensure-services.sh)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def oathtool(key: str, at: int, *, digits: int = 6, base32: bool = True) -> str:
    """The TOTP code (SHA-1, 30 s) of ``key`` at the Unix time ``at``, by oathtool."""
    require_oathtool()
    args = ["oathtool", "--totp=sha1", f"--digits={digits}", "-N", f"@{at}"]
    result = subprocess.run(
        [*args, *(["-b"] if base32 else []), key],
        capture_output=True,
        text=True,
        check=True,
        env={"TZ": "UTC", "PATH": os.environ.get("PATH", "")},
    )
    return result.stdout.strip()


def current_step(clock: ManualClock) -> int:
    return int(clock.now().timestamp()) // PERIOD


def code_at_step(secret: str, step: int) -> str:
    return oathtool(secret, step * PERIOD)


async def enroll(env: ScenarioEnv, session: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = await env.client.post(
        "/auth/v1/factors", headers=await bearer(env, session), json={"factor_type": "totp", **body}
    )
    assert response.status_code == 200, response.text
    enrolled: dict[str, Any] = response.json()
    return enrolled


async def challenge(env: ScenarioEnv, session: dict[str, Any], factor_id: str) -> str:
    response = await env.client.post(
        f"/auth/v1/factors/{factor_id}/challenge", headers=await bearer(env, session)
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def verify(
    env: ScenarioEnv, session: dict[str, Any], factor_id: str, challenge_id: str, code: str
) -> httpx.Response:
    return await env.client.post(
        f"/auth/v1/factors/{factor_id}/verify",
        headers=await bearer(env, session),
        json={"challenge_id": challenge_id, "code": code},
    )


@dataclass
class MfaUser:
    """A user with a verified TOTP factor, signed in at aal2."""

    email: str
    session: dict[str, Any]
    factor_id: str
    secret: str


async def mfa_user(
    env: ScenarioEnv, clock: ManualClock, email: str, project: str = "default"
) -> MfaUser:
    session = await signed_up(env, email, project=project)
    factor = await enroll(env, session, friendly_name="phone")
    challenge_id = await challenge(env, session, factor["id"])
    code = code_at_step(factor["totp"]["secret"], current_step(clock))
    verified = await verify(env, session, factor["id"], challenge_id, code)
    assert verified.status_code == 200, verified.text
    # The code's step is spent: later codes in the test come from later steps.
    clock.advance(PERIOD)
    return MfaUser(email, verified.json(), factor["id"], factor["totp"]["secret"])


async def claims(env: ScenarioEnv, access_token: str, project: str = "default") -> dict[str, Any]:
    """The access token's claims, its signature checked with the project's JWKS."""
    jwks = await env.client.get("/auth/v1/.well-known/jwks.json", headers=await anon(env, project))
    header = pyjwt.get_unverified_header(access_token)
    key = next(k for k in jwks.json()["keys"] if k["kid"] == header["kid"])
    decoded: dict[str, Any] = pyjwt.decode(
        access_token,
        pyjwt.PyJWK(key).key,
        algorithms=["ES256", "RS256"],
        audience="authenticated",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    return decoded
