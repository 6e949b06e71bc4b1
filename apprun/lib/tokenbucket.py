"""The token bucket arithmetic, shared by every rate-limiter backend."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    """Seconds until the bucket is full again."""
    retry_after: float
    """Seconds until one more request would be allowed (0 when allowed)."""


def take(
    tokens: float | None, last: float | None, now: float, rate: float, burst: int, cost: int = 1
) -> tuple[float, Decision]:
    """Refill a bucket holding ``tokens`` at ``last`` up to ``now``, then try to take ``cost``.

    Returns the new token count and the decision. A missing bucket starts full.
    """
    if tokens is None or last is None:
        tokens = float(burst)
    else:
        tokens = min(float(burst), tokens + max(0.0, now - last) * rate)
    allowed = tokens >= cost
    if allowed:
        tokens -= cost
    retry_after = 0.0 if allowed else (cost - tokens) / rate
    return tokens, Decision(
        allowed=allowed,
        limit=burst,
        remaining=max(0, math.floor(tokens)),
        reset_after=(burst - tokens) / rate,
        retry_after=retry_after,
    )
