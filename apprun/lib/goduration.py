"""Go's duration strings (``time.ParseDuration``): ``"300ms"``, ``"1.5h"``, ``"2h45m"``, ``"-1m"``.

GoTrue's admin API takes ban lengths in this form, so supabase-js and supabase-py send them so.
"""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # U+00B5 micro sign
    "μs": 1e-6,  # U+03BC Greek mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
MAX_SECONDS = (2**63 - 1) / 1e9
"""Go's durations are int64 nanoseconds: about 292 years."""


def parse_duration(text: str) -> timedelta:
    """The duration ``text`` names, as Go parses it; ``ValueError`` if it is not one.

    A sequence of decimal numbers each with a unit (ns, us, µs, ms, s, m, h), optionally signed;
    a bare ``"0"`` is the one number allowed without a unit.
    """
    rest = text
    sign = -1.0 if rest.startswith("-") else 1.0
    if rest[:1] in ("-", "+"):
        rest = rest[1:]
    if rest == "0":
        return timedelta(0)
    if not rest:
        raise ValueError(f"invalid duration {text!r}")
    total, position = 0.0, 0
    while position < len(rest):
        match = _PART.match(rest, position)
        if match is None:
            raise ValueError(f"invalid duration {text!r}")
        total += float(match[1]) * _SECONDS[match[2]]
        position = match.end()
    if total > MAX_SECONDS:
        raise ValueError(f"invalid duration {text!r}: too long")
    return timedelta(seconds=sign * total)
