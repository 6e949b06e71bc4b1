"""Brute-force protection: per-IP limits per endpoint family, per-account progressive delays,
limits shared across worker processes, and password sign-in that tells nothing about which
accounts exist (same answer, same work)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
import redis

from apprun.config import Settings
from apprun.core.context import RequestContext
from apprun.core.ids import new_id
from apprun.core.ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter
from apprun.modules.auth import passwords
from apprun.modules.auth.config import AuthConfig
from apprun.modules.auth.errors import RateLimitedRequests
from apprun.modules.auth.limits import AuthLimits
from apprun.testing import ScenarioEnv
from apprun.testing.databases import TestDatabase
from tests.modules.auth.conftest import GOTRUE, PASSWORD, anon, configure, error_code, signed_up
from tests.modules.auth.users import admin_create, service

pytestmark = pytest.mark.anyio
EMAIL = "target@example.com"


@pytest.fixture
def settings(database: TestDatabase) -> Settings:
    # Requests name their client IP in X-Forwarded-For, as behind a proxy.
    return database.settings(http={"access_log": False, "trust_forwarded_for": True})


async def from_ip(env: ScenarioEnv, ip: str) -> dict[str, str]:
    return {**await anon(env), "X-Forwarded-For": ip}


async def password_grant(env: ScenarioEnv, email: str, password: str, ip: str) -> Any:
    return await env.client.post(
        "/auth/v1/token?grant_type=password",
        headers=await from_ip(env, ip),
        json={"email": email, "password": password},
    )


async def test_sign_in_family_is_limited_per_ip(env: ScenarioEnv) -> None:
    await configure(env, mailer_autoconfirm=True, rate_limit_sign_in=3)
    for n in range(3):
        ok = await env.client.post(
            "/auth/v1/signup",
            headers=await from_ip(env, "10.0.0.1"),
            json={"email": f"u{n}@example.com", "password": PASSWORD},
        )
        assert ok.status_code == 200, ok.text
    refused = await env.client.post(
        "/auth/v1/signup",
        headers=await from_ip(env, "10.0.0.1"),
        json={"email": "u3@example.com", "password": PASSWORD},
    )
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "over_request_rate_limit"
    assert refused.headers["retry-after"] == "100"  # one request per 300 s / 3
    assert refused.headers["x-supabase-api-version"] == "2024-01-01"
    # The password grant is in the same family; clients without the version header get
    # GoTrue's legacy shape.
    headers = {k: v for k, v in (await from_ip(env, "10.0.0.1")).items() if k not in GOTRUE}
    legacy = await env.client.post(
        "/auth/v1/token?grant_type=password",
        headers=headers,
        json={"email": "u0@example.com", "password": PASSWORD},
    )
    assert legacy.status_code == 429
    assert legacy.json()["code"] == 429
    assert legacy.json()["error_code"] == "over_request_rate_limit"
    assert legacy.headers["x-sb-error-code"] == "over_request_rate_limit"
    other_ip = await password_grant(env, "u0@example.com", PASSWORD, "10.0.0.2")
    assert other_ip.status_code == 200, other_ip.text
    listed = await env.client.get("/auth/v1/admin/users", headers=await service(env))
    assert listed.headers["x-total-count"] == "3"  # the refused sign-up made no user


async def test_refresh_is_limited_per_ip(env: ScenarioEnv) -> None:
    session = await signed_up(env, EMAIL)
    await configure(env, rate_limit_token_refresh=2)
    token = session["refresh_token"]
    for _ in range(2):
        refreshed = await env.client.post(
            "/auth/v1/token?grant_type=refresh_token",
            headers=await from_ip(env, "10.0.0.9"),
            json={"refresh_token": token},
        )
        assert refreshed.status_code == 200, refreshed.text
        token = refreshed.json()["refresh_token"]
    refused = await env.client.post(
        "/auth/v1/token?grant_type=refresh_token",
        headers=await from_ip(env, "10.0.0.9"),
        json={"refresh_token": token},
    )
    assert refused.status_code == 429 and refused.headers["retry-after"] == "150"
    # Refused before the token was looked at: it still works from elsewhere.
    elsewhere = await env.client.post(
        "/auth/v1/token?grant_type=refresh_token",
        headers=await from_ip(env, "10.0.0.10"),
        json={"refresh_token": token},
    )
    assert elsewhere.status_code == 200, elsewhere.text


async def test_failed_passwords_delay_the_account_progressively(env: ScenarioEnv) -> None:
    await configure(env, failed_attempts_before_delay=2)
    await admin_create(env, email=EMAIL, password=PASSWORD)
    for _ in range(2):
        wrong = await password_grant(env, EMAIL, "wrong password", "10.1.0.1")
        assert wrong.status_code == 400 and error_code(wrong) == "invalid_credentials"
    # Now even the right password must wait, from any IP: the account is what is guarded.
    for ip in ("10.1.0.1", "10.1.0.2"):
        waiting = await password_grant(env, EMAIL, PASSWORD, ip)
        assert waiting.status_code == 429, waiting.text
        assert error_code(waiting) == "over_request_rate_limit"
        assert waiting.headers["retry-after"] == "1"
    other = await password_grant(env, "someone@example.com", "wrong password", "10.1.0.1")
    assert other.status_code == 400  # other accounts are not affected
    await anyio.sleep(1.05)
    wrong = await password_grant(env, EMAIL, "wrong password", "10.1.0.3")
    assert wrong.status_code == 400
    doubled = await password_grant(env, EMAIL, PASSWORD, "10.1.0.3")
    assert doubled.status_code == 429 and doubled.headers["retry-after"] == "2"
    await anyio.sleep(2.05)
    right = await password_grant(env, EMAIL, PASSWORD, "10.1.0.4")
    assert right.status_code == 200, right.text
    # Success forgives the failures: the next typo is an ordinary refusal.
    typo = await password_grant(env, EMAIL, "wrong password", "10.1.0.4")
    assert typo.status_code == 400


async def test_unknown_accounts_are_delayed_alike(env: ScenarioEnv) -> None:
    """The delay must not reveal which addresses have accounts."""
    await configure(env, failed_attempts_before_delay=2)
    await admin_create(env, email=EMAIL, password=PASSWORD)
    answers = {}
    for email in (EMAIL, "nobody@example.com"):
        for _ in range(2):
            await password_grant(env, email, "wrong password", "10.2.0.1")
        refused = await password_grant(env, email, "wrong password", "10.2.0.1")
        answers[email] = (refused.status_code, refused.json(), refused.headers["retry-after"])
    assert answers[EMAIL] == answers["nobody@example.com"]
    assert answers[EMAIL][0] == 429


async def test_unknown_email_and_wrong_password_are_indistinguishable(
    env: ScenarioEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    await admin_create(env, email=EMAIL, password=PASSWORD)
    verifications: list[str | None] = []
    real = passwords.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        verifications.append(password_hash)
        return real(password_hash, password)

    # The seam: the one function every password check of the auth module goes through.
    monkeypatch.setattr(passwords, "verify_password", counting)
    answers = []
    for email, password in (
        (EMAIL, "wrong password"),
        ("nobody@example.com", "wrong password"),
        ("not an address", "wrong password"),
        (EMAIL, ""),
    ):
        before = len(verifications)
        response = await password_grant(env, email, password, "10.3.0.1")
        answers.append((response.status_code, response.json()))
        assert len(verifications) - before == 1, (email, "one argon2 verification on every path")
    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0] == (
        400,
        {"code": "invalid_credentials", "message": "Invalid login credentials."},
    )
    # The unknown account was checked against a real (dummy) hash, not skipped.
    assert verifications[1] is None
    ok = await password_grant(env, EMAIL, PASSWORD, "10.3.0.1")
    assert ok.status_code == 200 and len(verifications) == 5


async def test_limits_for_the_email_flows(env: ScenarioEnv) -> None:
    """``limits.check(ctx, "verify", …)`` as the verify and OTP endpoints call it."""
    await configure(env, rate_limit_verify=2, rate_limit_otp=1, failed_attempts_before_delay=1)
    limits = env.services.auth.limits
    ctx = RequestContext("default", client_ip="10.4.0.1")
    await limits.check(ctx, "verify")
    await limits.check(ctx, "verify", account="a@example.com")
    with pytest.raises(RateLimitedRequests) as refused:
        await limits.check(ctx, "verify")
    assert refused.value.headers["Retry-After"] == "150"
    await limits.check(ctx, "otp")  # each family has its own bucket
    await limits.check(ctx, "verify", ip="10.4.0.2")
    await limits.failed(ctx, "verify", account="a@example.com")
    with pytest.raises(RateLimitedRequests):
        await limits.check(ctx, "verify", ip="10.4.0.3", account="A@example.com")
    await limits.check(ctx, "sign_in", account="a@example.com")  # families count apart


@pytest.fixture(params=["local", "redis"])
def two_workers(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Two workers' limiters on one shared store: the machine's file, or Redis."""
    if request.param == "local":
        return [LocalRateLimiter(tmp_path / "ratelimit.db") for _ in range(2)]
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis must run on 127.0.0.1:6379 for this test: {exc}")
    return [RedisRateLimiter(url) for _ in range(2)]


async def test_limits_hold_across_worker_processes(two_workers: list[RateLimiter]) -> None:
    """Failures seen by one worker delay the other; success on one forgives on both."""
    config = AuthConfig(failed_attempts_before_delay=2, rate_limit_sign_in=2)

    async def config_of(_: RequestContext) -> AuthConfig:
        return config

    first, second = two_workers
    project = f"p{new_id()}"  # Redis outlives the test: buckets of its own
    try:
        one, two = AuthLimits(first, config_of), AuthLimits(second, config_of)
        ctx = RequestContext(project, client_ip="10.5.0.1")
        await one.check(ctx, "sign_in")
        await two.check(ctx, "sign_in")
        with pytest.raises(RateLimitedRequests):
            await one.check(ctx, "sign_in")
        other_ip = RequestContext(project, client_ip="10.5.0.2")
        await one.failed(other_ip, "sign_in", account="v@example.com")
        await two.failed(other_ip, "sign_in", account="v@example.com")
        with pytest.raises(RateLimitedRequests) as refused:
            await one.check(RequestContext(project), "sign_in", account="v@example.com")
        assert refused.value.headers["Retry-After"] == "1"
        await two.succeeded(other_ip, "sign_in", account="v@example.com")
        await one.check(RequestContext(project), "sign_in", account="v@example.com")
        # Another project's buckets are its own.
        await one.check(RequestContext(f"{project}x", client_ip="10.5.0.1"), "sign_in")
    finally:
        await first.close()
        await second.close()


async def test_delay_is_capped(tmp_path: Path) -> None:
    config = AuthConfig(failed_attempts_before_delay=1, failed_attempts_max_delay_seconds=1)

    async def config_of(_: RequestContext) -> AuthConfig:
        return config

    limiter = LocalRateLimiter(tmp_path / "ratelimit.db")
    try:
        limits = AuthLimits(limiter, config_of)
        ctx = RequestContext("default")
        for _ in range(6):  # uncapped, the sixth failure would mean 32 s
            await limits.failed(ctx, "verify", account="w@example.com")
        with pytest.raises(RateLimitedRequests) as refused:
            await limits.check(ctx, "verify", account="w@example.com")
        assert refused.value.headers["Retry-After"] == "1"
        await anyio.sleep(1.05)
        await limits.check(ctx, "verify", account="w@example.com")
    finally:
        await limiter.close()


@pytest.mark.parametrize(
    "patch",
    [{"rate_limit_sign_in": 0}, {"failed_attempts_before_delay": 0},
     {"failed_attempts_max_delay_seconds": 7200}, {"rate_limit_verify": "many"}],
)  # fmt: skip
async def test_limit_settings_are_validated(env: ScenarioEnv, patch: dict[str, Any]) -> None:
    headers = await env.key_headers("default", "service_role")
    response = await env.client.patch("/admin/v1/auth/config", headers=headers, json=patch)
    assert 400 <= response.status_code < 500, response.text
    config = (await env.client.get("/admin/v1/auth/config", headers=headers)).json()
    assert config["rate_limit_sign_in"] == 30 and config["failed_attempts_before_delay"] == 5


async def test_verify_and_otp_are_limited(env: ScenarioEnv) -> None:
    """Wrong codes for one address delay its next guesses; each family has an IP limit."""
    await configure(env, failed_attempts_before_delay=2, rate_limit_otp=2)
    headers = {**await from_ip(env, "10.0.0.9"), **GOTRUE}
    guess = {"type": "email", "email": EMAIL, "token": "000000"}
    for _ in range(2):
        wrong = await env.client.post("/auth/v1/verify", headers=headers, json=guess)
        assert wrong.status_code == 403 and error_code(wrong) == "otp_expired", wrong.text
    waiting = await env.client.post("/auth/v1/verify", headers=headers, json=guess)
    assert waiting.status_code == 429 and error_code(waiting) == "over_request_rate_limit"
    assert int(waiting.headers["retry-after"]) >= 1
    for n in range(2):
        body = {"email": f"r{n}@example.com"}
        asked = await env.client.post("/auth/v1/recover", headers=headers, json=body)
        assert asked.status_code == 200, asked.text
    over = await env.client.post("/auth/v1/otp", headers=headers, json={"email": EMAIL})
    assert over.status_code == 429 and error_code(over) == "over_request_rate_limit"


async def test_a_forged_forwarded_for_does_not_change_the_ip(env: ScenarioEnv) -> None:
    """Behind a proxy the client is the rightmost X-Forwarded-For entry (the one the proxy
    added); addresses a client writes to its left do not give it new buckets."""
    await configure(env, rate_limit_sign_in=2)
    for n in range(3):
        forged = {**await anon(env), **GOTRUE, "X-Forwarded-For": f"203.0.113.{n}, 10.0.0.7"}
        response = await env.client.post(
            "/auth/v1/token?grant_type=password", headers=forged,
            json={"email": EMAIL, "password": "wrong password"},
        )  # fmt: skip
        expected = 429 if n == 2 else 400
        assert response.status_code == expected, response.text
