"""What the storage routes share: reading JSON and upload bodies, and answering downloads
with ranges, validators and safe headers."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Final
from urllib.parse import quote

import orjson
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Message

from apprun.modules.storage.errors import (
    EntityTooLarge,
    InvalidRange,
    InvalidRequest,
    MissingAuthorization,
    NoContent,
)
from apprun.modules.storage.ingest import ACTIVE_TYPES, json_object
from apprun.modules.storage.names import essence
from apprun.modules.storage.objects import Source, Stored
from apprun.modules.web import Ctx

JSON_LIMIT: Final = 1024 * 1024
METADATA_LIMIT: Final = 1024 * 1024
MULTIPART_OVERHEAD: Final = 1024 * 1024
CHUNK: Final = 1024 * 1024
_RANGE: Final = re.compile(r"^bytes=(\d*)-(\d*)$")


def require_auth(request: Request, ctx: Ctx) -> None:
    """Supabase's authenticated routes: a credential must be present."""
    if not ctx.principal.key_verified and "authorization" not in request.headers:
        raise MissingAuthorization()


async def read_json(request: Request) -> dict[str, Any]:
    """A JSON object body of at most 1 MiB; an empty body is ``{}``."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > JSON_LIMIT:
            raise EntityTooLarge("The request body is too large", details={"limit": JSON_LIMIT})
    if not body.strip():
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidRequest("Body is not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidRequest("body must be object")
    return value


def upsert_flag(request: Request) -> bool:
    return request.headers.get("x-upsert", "").lower() == "true"


@asynccontextmanager
async def upload_source(request: Request, limit: int) -> AsyncIterator[Source]:
    """The object in an upload request: the first file part of a multipart form (any field
    name), or the raw body. A form's spooled files are closed on the way out, whether or
    not the upload read them."""
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        form = await _form(request, limit)
        try:
            yield _multipart(form)
        finally:
            await form.close()
        return
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) == 0:
        raise NoContent()
    cache = request.headers.get("cache-control") or "no-cache"
    yield Source(
        chunks=_raw(request),
        content_type=content_type or "application/octet-stream",
        cache_control=cache,
        metadata=_header_metadata(request.headers.get("x-metadata")),
        length=int(length) if length is not None and length.isdigit() else None,
    )


async def _raw(request: Request) -> AsyncIterator[bytes]:
    seen = False
    async for chunk in request.stream():
        if chunk:
            seen = True
            yield chunk
    if not seen:
        raise NoContent()


async def _form(request: Request, limit: int) -> FormData:
    received = 0
    receive = request.receive

    async def limited() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit + MULTIPART_OVERHEAD:
            raise EntityTooLarge(details={"limit": limit})
        return message

    try:
        # Text fields may be a little over METADATA_LIMIT, so that _multipart names the
        # problem (EntityTooLarge) instead of the parser (a bare 400).
        return await Request(request.scope, limited).form(
            max_files=1, max_fields=20, max_part_size=METADATA_LIMIT + MULTIPART_OVERHEAD
        )
    except HTTPException as error:
        if "maximum size" in str(error.detail):
            raise EntityTooLarge("The user metadata is larger than 1 MiB") from None
        raise


def _multipart(form: FormData) -> Source:
    upload = next((v for v in form.values() if isinstance(v, UploadFile)), None)
    if upload is None:
        raise NoContent()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    cache = fields.get("cacheControl")
    metadata_text = fields.get("metadata") or fields.get("userMetadata")
    if metadata_text is not None and len(metadata_text) > METADATA_LIMIT:
        raise EntityTooLarge("The user metadata is larger than 1 MiB")
    return Source(
        chunks=_spooled(upload),
        content_type=fields.get("contentType") or upload.content_type or "application/octet-stream",
        cache_control=f"max-age={cache}" if cache and cache.isdigit() else cache or "no-cache",
        metadata=json_object(metadata_text),
        length=upload.size,
    )


async def _spooled(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


def _header_metadata(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        return json_object(base64.b64decode(value, validate=True).decode())
    except (binascii.Error, UnicodeDecodeError):
        return None


def http_date(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC).replace(microsecond=0), usegmt=True)


def content_disposition(download: str | None) -> str | None:
    """RFC 6266: an ASCII fallback and the UTF-8 name, for ``?download[=name]``."""
    if download is None:
        return None
    if not download:
        return "attachment;"
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in download)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(download, safe='')}"


def safe_type(stored_type: str, allow_inline_html: bool) -> tuple[str, bool]:
    """(Content-Type to send, whether to sandbox it): HTML is plain text unless the bucket
    allows it; whatever can run script is sandboxed."""
    base = essence(stored_type)
    if base in ("text/html", "application/xhtml+xml") and not allow_inline_html:
        return "text/plain; charset=utf-8", False
    return stored_type, base in ACTIVE_TYPES


def not_modified(request: Request, etag: str, modified: datetime) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = [t.strip() for t in match.split(",")]
        return etag in tags or f"W/{etag}" in tags or "*" in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return modified.replace(microsecond=0) <= when
    return False


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[start, end)`` of a single ``bytes=`` range; None without a header; InvalidRange
    for anything unsatisfiable or more than one range."""
    if header is None:
        return None
    found = _RANGE.match(header.strip())
    if found is None or size == 0:
        raise InvalidRange(headers={"Content-Range": f"bytes */{size}"})
    first, last = found.groups()
    if not first and not last:
        raise InvalidRange(headers={"Content-Range": f"bytes */{size}"})
    if not first:
        length = int(last)
        if length == 0:
            raise InvalidRange(headers={"Content-Range": f"bytes */{size}"})
        return max(0, size - length), size
    start = int(first)
    end = size if not last else min(int(last) + 1, size)
    if start >= size or end <= start:
        raise InvalidRange(headers={"Content-Range": f"bytes */{size}"})
    return start, end


def object_headers(
    request: Request, row: dict[str, Any], *, expires: datetime | None = None
) -> dict[str, str]:
    """What every answer with an object's bytes (or a rendition of them) carries: its
    validators, caching (``Expires`` for a signed URL, else the stored Cache-Control) and the
    ``?download`` disposition."""
    headers = {
        "ETag": f'"{row["etag"]}"',
        "Last-Modified": http_date(row["updated_at"]),
        "X-Robots-Tag": "none",
    }
    if expires is not None:
        headers["Expires"] = http_date(expires)
    else:
        headers["Cache-Control"] = row["cache_control"]
    disposition = content_disposition(request.query_params.get("download"))
    if disposition:
        headers["Content-Disposition"] = disposition
    return headers


def unchanged(request: Request, row: dict[str, Any], headers: dict[str, str]) -> Response | None:
    """The 304 answer when the client's copy is current."""
    if not_modified(request, headers["ETag"], row["updated_at"]):
        return Response(status_code=304, headers=headers)
    return None


async def deliver(
    request: Request,
    stored: Stored,
    *,
    expires: datetime | None = None,
) -> Response:
    """The object as a download: validators, Range, safe type and disposition."""
    row = stored.row
    content_type, sandbox = safe_type(row["mime_type"], bool(stored.bucket["allow_inline_html"]))
    headers = object_headers(request, row, expires=expires)
    # In the headers rather than as media_type, which would add "; charset=utf-8" to a
    # stored text/* type: the stored type goes out verbatim, as upstream.
    headers["Content-Type"] = content_type
    headers["Accept-Ranges"] = "bytes"
    if sandbox:
        headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; sandbox"
        )
    if (answer := unchanged(request, row, headers)) is not None:
        return answer
    size = row["size"]
    span = parse_range(request.headers.get("range"), size)
    status = 200
    start, end = 0, size
    if span is not None:
        start, end = span
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    chunks = await stored.open(start, end)
    return StreamingResponse(chunks, status_code=status, headers=headers)
