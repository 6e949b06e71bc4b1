"""Values in and out of collections: text from filters and JSON from bodies become typed
Python values (or a PostgREST-style 400), and rows become JSON-ready dictionaries."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from apprun.modules.data.errors import RestBadRequest
from apprun.modules.data.schemas import FieldSpec

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL = re.compile(r"^https?://[^\s/$.?#].[^\s]*$", re.IGNORECASE)
TRUE = {"true", "t", "1", "yes", "on"}
FALSE = {"false", "f", "0", "no", "off"}
PG_TYPE = {
    "integer": "integer", "bigint": "bigint", "numeric": "numeric", "float": "double precision",
    "boolean": "boolean", "timestamp": "timestamp with time zone", "date": "date",
    "uuid": "uuid", "json": "json",
}  # fmt: skip

# The system fields, described as fields so the same coercion applies to them.
SYSTEM = {
    "id": FieldSpec(name="x_id", type="text", max_length=36),
    "created_at": FieldSpec(name="x_created_at", type="timestamp"),
    "updated_at": FieldSpec(name="x_updated_at", type="timestamp"),
}


def invalid(spec: FieldSpec, value: object) -> RestBadRequest:
    return RestBadRequest(
        f'invalid input syntax for type {PG_TYPE.get(spec.type, "text")}: "{value}"',
        pg_code="22P02",
    )


def from_text(spec: FieldSpec, text: str) -> Any:
    """A filter literal (always text on the wire) as a value of the field's type."""
    kind = spec.type
    try:
        if kind in ("integer", "bigint"):
            return _bounded_int(int(text), kind)
        if kind == "numeric":
            return Decimal(text)
        if kind == "float":
            return float(text)
        if kind == "boolean":
            return _boolean(text.lower())
        if kind == "timestamp":
            return _timestamp(text)
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "uuid":
            return str(uuid.UUID(text))
    except (ValueError, InvalidOperation, OverflowError):
        raise invalid(spec, text) from None
    return text


def from_json(spec: FieldSpec, value: Any) -> Any:
    """A body value as stored; ``None`` stays ``None`` (NOT NULL is the database's check)."""
    if value is None or spec.type == "json":
        return value
    kind = spec.type
    if isinstance(value, bool) and kind != "boolean":
        raise invalid(spec, json.dumps(value))
    if kind in ("integer", "bigint"):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int | str):
            raise invalid(spec, value)
    if isinstance(value, int | float) and kind in ("numeric", "float"):
        return Decimal(str(value)) if kind == "numeric" else float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if isinstance(value, dict | list) or (isinstance(value, float) and kind != "float"):
        raise invalid(spec, json.dumps(value))
    return _checked_text(spec, from_text(spec, str(value)))


def _checked_text(spec: FieldSpec, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if "\x00" in value:
        raise RestBadRequest("invalid byte sequence: text must not contain NUL", pg_code="22021")
    if spec.pattern is not None and not re.search(spec.pattern, value):
        raise _check_failed(spec, "pattern")
    if spec.type == "email" and not EMAIL.match(value):
        raise _check_failed(spec, "email")
    if spec.type == "url" and not URL.match(value):
        raise _check_failed(spec, "url")
    return value


def _check_failed(spec: FieldSpec, kind: str) -> RestBadRequest:
    return RestBadRequest(
        f'new row violates check constraint "ck_{spec.name}_{kind}"',
        pg_code="23514",
        details=f"The value of {spec.name} is not a valid {kind}.",
    )


def _bounded_int(value: int, kind: str) -> int:
    low, high = INT32 if kind == "integer" else INT64
    if not low <= value <= high:
        raise ValueError("out of range")
    return value


def _boolean(text: str) -> bool:
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(text)


def _timestamp(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text else text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_json(value: Any) -> Any:
    """A stored value as JSON: numbers stay numbers, times are RFC 3339."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value
