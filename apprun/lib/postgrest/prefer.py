"""The ``Prefer`` header (RFC 7240) as PostgREST reads it."""

from __future__ import annotations

import re
from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, cast

from apprun.lib.postgrest.headers import INT64_MAX

ReturnPreference: TypeAlias = Literal["minimal", "headers-only", "representation"]
CountPreference: TypeAlias = Literal["exact", "planned", "estimated"]
ResolutionPreference: TypeAlias = Literal["merge-duplicates", "ignore-duplicates"]
MissingPreference: TypeAlias = Literal["default", "null"]
HandlingPreference: TypeAlias = Literal["strict", "lenient"]
TxPreference: TypeAlias = Literal["commit", "rollback"]

_CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "return": ("minimal", "headers-only", "representation"),
    "count": ("exact", "planned", "estimated"),
    "resolution": ("merge-duplicates", "ignore-duplicates"),
    "missing": ("default", "null"),
    "handling": ("strict", "lenient"),
    "tx": ("commit", "rollback"),
}
_COUNT_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class Preferences:
    """The recognised preferences (``None`` when absent) and the ones that were not.

    ``invalid`` holds every item that was not understood, in header order; with
    ``handling=strict`` PostgREST answers 400 PGRST122 listing them.
    """

    returning: ReturnPreference | None = None
    count: CountPreference | None = None
    resolution: ResolutionPreference | None = None
    missing: MissingPreference | None = None
    handling: HandlingPreference | None = None
    tx: TxPreference | None = None
    max_affected: int | None = None
    timezone: str | None = None
    invalid: tuple[str, ...] = ()

    @property
    def strict(self) -> bool:
        """Whether ``handling=strict`` was asked for."""
        return self.handling == "strict"

    @property
    def recognised(self) -> tuple[str, ...]:
        """Every recognised preference, canonically spelt, in PostgREST's order."""
        pairs = (
            ("resolution", self.resolution),
            ("missing", self.missing),
            ("return", self.returning),
            ("count", self.count),
            ("tx", self.tx),
            ("handling", self.handling),
            ("timezone", self.timezone),
            ("max-affected", None if self.max_affected is None else str(self.max_affected)),
        )
        return tuple(f"{name}={value}" for name, value in pairs if value is not None)

    def preference_applied(self, *, tx_allowed: bool = False) -> str | None:
        """The ``Preference-Applied`` value PostgREST would send, or ``None`` for none.

        ``tx`` counts only when the server lets clients choose (``tx_allowed``), and
        ``max-affected`` only together with ``handling=strict``.
        """
        applied = [
            item
            for item in self.recognised
            if (tx_allowed or not item.startswith("tx="))
            and (self.strict or not item.startswith("max-affected="))
        ]
        return ", ".join(applied) or None


def parse_prefer(values: Sequence[str], *, timezones: Container[str] | None = None) -> Preferences:
    """Merge ``Prefer`` header values: split on commas, trim, first occurrence wins.

    ``timezones``, when given, is the set of accepted ``timezone=`` names; without it any
    non-empty name is taken and the caller checks it. Never raises.
    """
    chosen: dict[str, str] = {}
    invalid: list[str] = []
    for header in values:
        for raw in header.split(","):
            item = raw.strip()
            if item and not _take(item, chosen, timezones):
                invalid.append(item)
    max_affected = chosen.get("max-affected")
    return Preferences(
        returning=cast("ReturnPreference | None", chosen.get("return")),
        count=cast("CountPreference | None", chosen.get("count")),
        resolution=cast("ResolutionPreference | None", chosen.get("resolution")),
        missing=cast("MissingPreference | None", chosen.get("missing")),
        handling=cast("HandlingPreference | None", chosen.get("handling")),
        tx=cast("TxPreference | None", chosen.get("tx")),
        max_affected=None if max_affected is None else int(max_affected),
        timezone=chosen.get("timezone"),
        invalid=tuple(invalid),
    )


def _take(item: str, chosen: dict[str, str], timezones: Container[str] | None) -> bool:
    """Record ``item`` unless an earlier one of its kind won; ``False`` if it is invalid."""
    name, equals, value = item.partition("=")
    if not equals:
        return False
    if name in _CHOICES:
        valid = value in _CHOICES[name]
    elif name == "max-affected":
        valid = bool(_COUNT_DIGITS.fullmatch(value)) and len(value) <= 19
        valid = valid and int(value) <= INT64_MAX
    elif name == "timezone":
        valid = bool(value) and (timezones is None or value in timezones)
    else:
        valid = False
    if valid:
        chosen.setdefault(name, value)
    return valid
