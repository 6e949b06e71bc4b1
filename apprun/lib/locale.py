"""Accept-Language negotiation (RFC 9110 §12.5.4) against a list of supported locales."""

from __future__ import annotations


def parse_accept_language(header: str) -> list[tuple[str, float]]:
    """Language ranges with their weights, best first; malformed parts are skipped."""
    ranges: list[tuple[str, float]] = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or len(tag) > 35:
            continue
        weight = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                weight = float(params[2:])
            except ValueError:
                continue
        if 0 < weight <= 1:
            ranges.append((tag, weight))
    return sorted(ranges, key=lambda item: -item[1])


def negotiate(header: str | None, supported: list[str], default: str) -> str:
    """The supported locale that best matches the header (exact tag, then language prefix)."""
    if not header:
        return default
    lowered = {s.lower(): s for s in supported}
    for given, _ in parse_accept_language(header):
        tag = given.lower()
        if tag == "*":
            return default
        if tag in lowered:
            return lowered[tag]
        language = tag.split("-")[0]
        for candidate in supported:
            if candidate.lower().split("-")[0] == language:
                return candidate
    return default
