"""Taking bytes in: count, hash and sniff a stream on its way to the blob store, and cut it
at the size limit. Nothing here holds more than one chunk (plus a 4 KiB head) in memory."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any, Final

import orjson
import puremagic

from apprun.modules.storage.errors import EntityTooLarge, InvalidMimeType
from apprun.modules.storage.names import essence, mime_allowed

HEAD_BYTES: Final = 4096
ACTIVE_TYPES: Final = frozenset(
    {"text/html", "application/xhtml+xml", "text/xml", "application/xml", "image/svg+xml"}
)
"""Types a browser would run scripts from when served inline."""


class Ingest:
    """Wraps a stream: ``size``, ``md5`` and ``head`` are known once it is consumed."""

    def __init__(self, chunks: AsyncIterable[bytes], limit: int) -> None:
        self._chunks = chunks
        self.limit = limit
        self.size = 0
        self.head = b""
        self._md5 = hashlib.md5(usedforsecurity=False)

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self.limit:
                raise EntityTooLarge(details={"limit": self.limit})
            if len(self.head) < HEAD_BYTES:
                self.head += chunk[: HEAD_BYTES - len(self.head)]
            self._md5.update(chunk)
            yield chunk


def json_object(text: str | None) -> dict[str, Any] | None:
    """User metadata sent as JSON text: the object, or None when it is not one (ignored, as
    upstream does)."""
    if not text:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def sniff(head: bytes) -> str | None:
    """The type the content's magic bytes say, or None when they say nothing."""
    if not head:
        return None
    try:
        found = puremagic.from_string(head, mime=True)
    except (puremagic.PureError, ValueError):
        found = ""
    if found:
        return essence(found)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<script", b"<body", b"<head")):
        return "text/html"
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "image/svg+xml"
    return None


def effective_type(declared: str, head: bytes, allowed: list[str] | None) -> str:
    """The type to store: the declared one (or the sniffed one when nothing was declared),
    after checking both the declaration and the content against the bucket's list."""
    detected = sniff(head)
    stored = detected if essence(declared) == "application/octet-stream" and detected else declared
    if not mime_allowed(stored, allowed):
        raise InvalidMimeType(f"mime type {stored} is not supported", details={"type": stored})
    if allowed and detected and not mime_allowed(detected, allowed):
        raise InvalidMimeType(
            f"mime type {detected} is not supported (the content is {detected}, "
            f"declared as {declared})",
            details={"type": declared, "detected": detected},
        )
    return stored


def check_declared(declared: str, allowed: list[str] | None) -> None:
    """Refuse a declared type the bucket does not allow, before reading any content."""
    if essence(declared) != "application/octet-stream" and not mime_allowed(declared, allowed):
        raise InvalidMimeType(f"mime type {declared} is not supported", details={"type": declared})
