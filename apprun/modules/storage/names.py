"""Bucket names, object keys and MIME types: what Supabase Storage accepts, and no more.

Keys are ASCII from a safe set (no ``%``, ``#``, ``\\``, control characters), without ``.``
or ``..`` segments, without a leading ``/`` (the SDKs strip it), at most ``MAX_KEY_LENGTH``
characters. They never become file paths (bytes live under generated ids), but a key that
could be read two ways is refused anyway.
"""

from __future__ import annotations

import re
from typing import Final

from apprun.modules.storage.errors import (
    InvalidBucketName,
    InvalidKey,
    InvalidMimeType,
    InvalidRequest,
)

MAX_BUCKET_NAME: Final = 100
MAX_KEY_LENGTH: Final = 1024
PLACEHOLDER: Final = ".emptyFolderPlaceholder"
_BUCKET: Final = re.compile(r"^[A-Za-z0-9_!\-.*'() &$@=;:+,?]+$")
_KEY: Final = re.compile(r"^[A-Za-z0-9_!\-.*'() &$@=;:+,?/]+$")
_MIME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")
_SIZE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)?\s*$", re.IGNORECASE)
_UNITS: Final = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def bucket_name(name: object) -> str:
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= MAX_BUCKET_NAME
        or name != name.strip()
        or not _BUCKET.match(name)
        or name.endswith("--table-s3")
    ):
        raise InvalidBucketName(details={"field": "name", "value": str(name)[:120]})
    return name


def object_key(key: object) -> str:
    """A valid key, or InvalidKey naming it."""
    text = key if isinstance(key, str) else ""
    if (
        not text
        or len(text) > MAX_KEY_LENGTH
        or not _KEY.match(text)
        or text.startswith("/")
        or any(part in (".", "..") for part in text.split("/"))
    ):
        shown = text[:200] if text.isprintable() else repr(text[:200])
        raise InvalidKey(f"Invalid key: {shown}", details={"field": "key", "key": shown})
    return text


def segments(key: str) -> list[str]:
    """The key's folders and file name (``@path.segments`` in policies)."""
    return key.split("/")


def parse_size(value: object) -> int | None:
    """``file_size_limit``: bytes, or ``"20MB"``-style text (decimal units), or None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _bad_size()
    if isinstance(value, int):
        if value < 0:
            raise _bad_size()
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str):
        found = _SIZE.match(value)
        if found:
            return int(float(found.group(1)) * _UNITS[(found.group(2) or "").upper()])
    raise _bad_size()


def _bad_size() -> InvalidRequest:
    return InvalidRequest(
        "Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B",
        details={"field": "file_size_limit"},
    )


def mime_types(value: object) -> list[str] | None:
    """``allowed_mime_types``: a list of ``type/subtype`` or ``type/*`` (empty → None)."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidMimeType(
            "allowed_mime_types must be a list of mime types",
            details={"field": "allowed_mime_types"},
        )
    cleaned = [item.strip().lower() for item in value if item.strip()]
    for item in cleaned:
        base = essence(item)
        if not (_MIME.match(base) or ((base.endswith("*") and "/" in base) or base == "*")):
            raise InvalidMimeType(
                f"mime type {item} is not supported", details={"field": "allowed_mime_types"}
            )
    return cleaned or None


def essence(mime: str) -> str:
    """``text/plain; charset=utf-8`` → ``text/plain``."""
    return mime.split(";", 1)[0].strip().lower()


def mime_allowed(mime: str, allowed: list[str] | None) -> bool:
    """Whether ``mime`` matches the bucket's list (parameters ignored, ``type/*`` wildcards)."""
    if not allowed:
        return True
    wanted = essence(mime)
    for pattern in allowed:
        base = essence(pattern)
        if base in ("*", "*/*", wanted):
            return True
        if base.endswith("/*") and wanted.split("/", 1)[0] == base[:-2]:
            return True
    return False
