"""Brute-force protection of the sign-in paths: per-IP request limits per endpoint family, and
per-account delays after failed attempts.

- **Per IP and family** (``sign_in``: sign-up and password grant; ``token_refresh``; ``verify``;
  ``otp``: OTP, magic-link, recovery, resend): a token bucket of the family's limit per five
  minutes (``rate_limit_*`` in the project's auth config), refilled continuously.
- **Per account** (an email address, known or not, so that refusals reveal nothing): failed
  attempts are counted in a bucket that forgets them within the hour. From
  ``failed_attempts_before_delay`` failures on, each further attempt must wait ``2^(n - free)``
  seconds after the previous one (capped by ``failed_attempts_max_delay_seconds``). The wait is a
  second bucket of one token that refills in that time.
- A refusal is GoTrue's 429 ``over_request_rate_limit`` with ``Retry-After``; nothing sleeps.
- The buckets live in the app's ``RateLimiter`` (memory, the machine's shared SQLite file, or
  Redis), so the limits hold across worker processes. Accounts are hashed into the bucket keys:
  the limiter's storage holds no addresses.

Callers: ``await limits.check(ctx, family, account=email)`` before the attempt;
``await limits.failed(ctx, family, account=email)`` when the password or code was wrong;
``await limits.succeeded(ctx, family, account=email)`` when it was right.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Literal

from apprun.core.context import RequestContext
from apprun.core.ratelimit import RateLimiter
from apprun.lib.crypto import sha256_hex
from apprun.modules.auth.config import AuthConfig
from apprun.modules.auth.errors import RateLimitedRequests

Family = Literal["sign_in", "token_refresh", "verify", "otp"]
LIMIT_FIELDS: dict[str, str] = {
    "sign_in": "rate_limit_sign_in",
    "token_refresh": "rate_limit_token_refresh",
    "verify": "rate_limit_verify",
    "otp": "rate_limit_otp",
}
WINDOW_SECONDS = 300.0
"""The per-IP limits are counts per five minutes (GoTrue's unit)."""
FORGET_SECONDS = 3600.0
"""An account's failures are forgotten within this time (the shared limiter file prunes buckets
idle this long, which must not forgive more than the bucket itself would)."""
COUNTED_BEYOND_FREE = 16
"""Failures counted past the free ones: 2^16 s is beyond any delay cap."""

ConfigOf = Callable[[RequestContext], Awaitable[AuthConfig]]


class AuthLimits:
    """Per-IP request limits and per-account delays after failed attempts."""

    def __init__(self, limiter: RateLimiter, config_of: ConfigOf) -> None:
        self._limiter = limiter
        self._config_of = config_of

    async def check(
        self,
        ctx: RequestContext,
        family: Family,
        *,
        ip: str | None = None,
        account: str | None = None,
    ) -> None:
        """Raise 429 if this IP (default: the request's) spent the family's limit, or if the
        account must still wait after its last failed attempt."""
        config = await self._config_of(ctx)
        limit = int(getattr(config, LIMIT_FIELDS[family]))
        address = ip or ctx.client_ip
        if address:
            decision = await self._limiter.hit(
                _key(ctx, family, "ip", address), limit / WINDOW_SECONDS, limit
            )
            if not decision.allowed:
                raise refused(decision.retry_after)
        if account:
            await self._wait_turn(ctx, config, family, account)

    async def failed(self, ctx: RequestContext, family: Family, *, account: str) -> None:
        """Count a wrong password or code for the account."""
        config = await self._config_of(ctx)
        failures = await self._count(ctx, config, family, account, cost=1)
        if failures >= config.failed_attempts_before_delay:
            # Take the gate's token now, so the next attempt waits even right after the
            # free ones (later, ``check`` has already taken it and this changes nothing).
            await self._limiter.hit(
                _key(ctx, family, "gate", account), 1 / _delay(config, failures), 1
            )

    async def succeeded(self, ctx: RequestContext, family: Family, *, account: str) -> None:
        """Forgive the account's failures (its owner proved the secret)."""
        config = await self._config_of(ctx)
        # A negative cost refills the bucket: every backend caps it at its size on next use.
        await self._count(ctx, config, family, account, cost=-_counted(config))

    async def once_per(self, ctx: RequestContext, kind: str, address: str, interval: int) -> float:
        """Take the one mail of ``kind`` that ``address`` may get per ``interval`` seconds,
        in the shared limiter (so every worker agrees); → the seconds to wait, 0 when taken."""
        if interval <= 0:
            return 0.0
        decision = await self._limiter.hit(_key(ctx, "mail", kind, address), 1 / interval, 1)
        return 0.0 if decision.allowed else decision.retry_after

    async def _wait_turn(
        self, ctx: RequestContext, config: AuthConfig, family: Family, account: str
    ) -> None:
        failures = await self._count(ctx, config, family, account, cost=0)
        if failures < config.failed_attempts_before_delay:
            return
        gate = await self._limiter.hit(
            _key(ctx, family, "gate", account), 1 / _delay(config, failures), 1
        )
        if not gate.allowed:
            raise refused(
                gate.retry_after,
                "Too many failed attempts: for security purposes, you can only retry after "
                f"{max(1, math.ceil(gate.retry_after))} seconds.",
            )

    async def _count(
        self, ctx: RequestContext, config: AuthConfig, family: Family, account: str, cost: int
    ) -> int:
        """Add ``cost`` failures (0: only look) → the failures counted now."""
        size = _counted(config)
        decision = await self._limiter.hit(
            _key(ctx, family, "failures", account), size / FORGET_SECONDS, size, cost
        )
        return size - decision.remaining


def refused(retry_after: float, message: str | None = None) -> RateLimitedRequests:
    seconds = max(1, math.ceil(retry_after))
    return RateLimitedRequests(
        message, details={"retry_after": seconds}, headers={"Retry-After": str(seconds)}
    )


def _counted(config: AuthConfig) -> int:
    return config.failed_attempts_before_delay + COUNTED_BEYOND_FREE


def _delay(config: AuthConfig, failures: int) -> float:
    beyond = failures - config.failed_attempts_before_delay
    return float(min(2 ** min(beyond, 30), config.failed_attempts_max_delay_seconds))


def _key(ctx: RequestContext, family: str, kind: str, value: str) -> str:
    # Accounts are hashed so that the limiter's storage (a file, Redis) holds no addresses.
    subject = value if kind == "ip" else sha256_hex(value.lower().encode())[:32]
    return f"auth:{ctx.project}:{family}:{kind}:{subject}"
