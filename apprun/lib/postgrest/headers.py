"""The ``Range`` and ``Accept`` headers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from apprun.lib.postgrest.errors import (
    LOWER_GT_UPPER,
    NotAcceptableError,
    RangeNotSatisfiableError,
)

_RANGE = re.compile(r"([0-9]+)-([0-9]*)")
_QUALITY = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
INT64_MAX: Final = 2**63 - 1


def bounded_int(digits: str) -> int:
    """An ASCII integer, clamped to the int64 range the database can take."""
    negative = digits.startswith("-")
    magnitude = digits.lstrip("+-")
    # int() refuses over 4300 digits, and anything past 19 is beyond int64 anyway.
    value = INT64_MAX if len(magnitude) > 19 else min(int(magnitude), INT64_MAX)
    return -value if negative else value


def parse_range(header: str | None) -> tuple[int, int | None] | None:
    """``Range: a-b`` or ``a-`` as ``(a, b or None)``; ``None`` when absent or malformed.

    Raises :class:`RangeNotSatisfiableError` (416 PGRST103) when ``a > b``.
    """
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    start = bounded_int(match.group(1))
    end = bounded_int(match.group(2)) if match.group(2) else None
    if end is not None and start > end:
        raise RangeNotSatisfiableError(LOWER_GT_UPPER)
    return start, end


class Representation(StrEnum):
    """The response shapes ``/rest/v1`` produces, named by their media type."""

    JSON = "application/json"
    OBJECT = "application/vnd.pgrst.object+json"
    CSV = "text/csv"


@dataclass(frozen=True, slots=True)
class Negotiated:
    """The chosen representation, and whether null-valued keys are to be stripped."""

    representation: Representation = Representation.JSON
    nulls_stripped: bool = False

    @property
    def media_type(self) -> str:
        """The media type to answer with, as PostgREST spells it."""
        if not self.nulls_stripped:
            return self.representation.value
        if self.representation is Representation.OBJECT:
            return "application/vnd.pgrst.object+json;nulls=stripped"
        return "application/vnd.pgrst.array+json;nulls=stripped"

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header value."""
        return self.media_type + "; charset=utf-8"


AVAILABLE: Final = (
    "application/json",
    "application/vnd.pgrst.object+json",
    "application/vnd.pgrst.object+json;nulls=stripped",
    "application/vnd.pgrst.array+json;nulls=stripped",
    "text/csv",
)
_JSON: Final = frozenset(
    ("*/*", "application/json", "application/vnd.pgrst.array+json", "application/vnd.pgrst.array")
)
_OBJECT: Final = frozenset(("application/vnd.pgrst.object+json", "application/vnd.pgrst.object"))


def negotiate_accept(header: str | None) -> Negotiated:
    """Choose what to answer ``Accept`` with: highest q first, then header order.

    No header (or a blank one) means JSON. Raises :class:`NotAcceptableError`
    (406 PGRST107) when nothing offered is acceptable.
    """
    if header is None or not header.strip():
        return Negotiated()
    ranges: list[tuple[float, str, bool]] = []
    requested: list[str] = []
    for item in header.split(","):
        media_type, *params = (part.strip() for part in item.split(";"))
        if not media_type:
            continue
        requested.append(media_type)
        quality, stripped = _params(params)
        if quality > 0:
            ranges.append((quality, media_type.lower(), stripped))
    ranges.sort(key=lambda entry: -entry[0])  # stable: ties keep header order
    for _, media_type, stripped in ranges:
        chosen = _match(media_type, stripped)
        if chosen is not None:
            return chosen
    raise NotAcceptableError(tuple(requested), AVAILABLE)


def _params(params: list[str]) -> tuple[float, bool]:
    quality, stripped = 1.0, False
    for param in params:
        name, _, value = param.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"').lower()
        if name == "q" and _QUALITY.fullmatch(value):
            quality = float(value)
        elif name == "nulls" and value == "stripped":
            stripped = True
    return quality, stripped


def _match(media_type: str, stripped: bool) -> Negotiated | None:
    if media_type in _JSON:
        # nulls=stripped only means something on the vendored array type.
        return Negotiated(Representation.JSON, stripped and "pgrst" in media_type)
    if media_type in _OBJECT:
        return Negotiated(Representation.OBJECT, stripped)
    if media_type == "text/csv":
        return Negotiated(Representation.CSV)
    return None
