"""``/storage/v1/upload/resumable``: tus 1.0.0 resumable uploads (``resumable.py`` does the
work). ``/sign`` is the same with a signed upload token in ``x-signature`` instead of
credentials. Each path takes every method in one handler, so ``X-HTTP-Method-Override``
works; errors are rendered as plain text with the real status (``apprun.http.errors``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

from fastapi import APIRouter, Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from apprun.modules.storage.errors import (
    InvalidRequest,
    TusVersionMismatch,
    UnsupportedUploadType,
)
from apprun.modules.storage.names import essence
from apprun.modules.storage.resumable import Progress, ResumableService, parse_checksum
from apprun.modules.storage.routes.common import http_date, require_auth
from apprun.modules.web import Ctx

PREFIX: Final = "/storage/v1/upload/resumable"
TUS_VERSION: Final = "1.0.0"
EXTENSIONS: Final = (
    "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum"
)
CHECKSUMS: Final = "sha1,md5,sha256"
OFFSET_TYPE: Final = "application/offset+octet-stream"
METHODS: Final = ["POST", "PATCH", "HEAD", "DELETE", "OPTIONS"]


def build_tus_router(resumable: ResumableService) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["storage"])
    max_size = resumable.k.limits.file_size_limit

    def options() -> Response:
        return Response(
            status_code=204,
            headers={
                "Tus-Resumable": TUS_VERSION,
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": EXTENSIONS,
                "Tus-Max-Size": str(max_size),
                "Tus-Checksum-Algorithm": CHECKSUMS,
            },
        )

    async def creation(request: Request, ctx: Ctx, signed: bool) -> Response:
        method = _method(request)
        if method == "OPTIONS":
            return options()
        signature = _prepare(request, ctx, signed)
        if method != "POST":
            return _reply(405, None, {"Allow": "POST, OPTIONS"})
        length = _length(request)
        progress = await resumable.create(
            ctx,
            length=length,
            metadata_header=request.headers.get("upload-metadata"),
            upsert=_upsert(request) or False,
            signature=signature,
        )
        upload_id = progress.upload["id"]
        if not progress.complete and _has_body(request):
            progress = await resumable.append(
                ctx,
                upload_id,
                offset=0,
                chunks=_received(request),
                checksum=parse_checksum(request.headers.get("upload-checksum")),
                upsert=_upsert(request),
                signature=signature,
            )
        location = _location(request, upload_id, signed)
        return _reply(201, progress, {"Location": location})

    async def upload(upload_id: str, request: Request, ctx: Ctx, signed: bool) -> Response:
        method = _method(request)
        if method == "OPTIONS":
            return options()
        signature = _prepare(request, ctx, signed)
        if method == "HEAD":
            row = await resumable.status(ctx, upload_id, signature)
            headers = {"Upload-Offset": str(row["offset"]), "Cache-Control": "no-store"}
            if row["length"] is None:
                headers["Upload-Defer-Length"] = "1"
            else:
                headers["Upload-Length"] = str(row["length"])
            if row["upload_metadata"]:
                headers["Upload-Metadata"] = row["upload_metadata"]
            headers["Upload-Expires"] = http_date(row["expires_at"])
            return _reply(200, None, headers)
        if method == "PATCH":
            if essence(request.headers.get("content-type", "")) != OFFSET_TYPE:
                raise UnsupportedUploadType()
            offset = _int_header(request, "upload-offset")
            if offset is None:
                raise InvalidRequest("Upload-Offset header required")
            progress = await resumable.append(
                ctx,
                upload_id,
                offset=offset,
                chunks=_received(request),
                length=_int_header(request, "upload-length"),
                checksum=parse_checksum(request.headers.get("upload-checksum")),
                upsert=_upsert(request),
                signature=signature,
            )
            return _reply(204, progress, {})
        if method == "DELETE":
            await resumable.terminate(ctx, upload_id, signature)
            return _reply(204, None, {})
        return _reply(405, None, {"Allow": "HEAD, PATCH, DELETE, OPTIONS"})

    # /sign first: it would match {upload_id} otherwise.
    @router.api_route("/sign", methods=METHODS, include_in_schema=False)
    @router.api_route("/sign/", methods=METHODS, include_in_schema=False)
    async def signed_creation(request: Request, ctx: Ctx) -> Response:
        return await creation(request, ctx, True)

    @router.api_route("/sign/{upload_id}", methods=METHODS, include_in_schema=False)
    async def signed_upload(upload_id: str, request: Request, ctx: Ctx) -> Response:
        return await upload(upload_id, request, ctx, True)

    @router.api_route("", methods=METHODS, include_in_schema=False)
    @router.api_route("/", methods=METHODS, include_in_schema=False)
    async def tus_creation(request: Request, ctx: Ctx) -> Response:
        """tus creation (``Upload-Length`` or ``Upload-Defer-Length: 1``, ``Upload-Metadata``
        with ``bucketName`` and ``objectName``), with an optional first chunk."""
        return await creation(request, ctx, False)

    @router.api_route("/{upload_id}", methods=METHODS, include_in_schema=False)
    async def tus_upload(upload_id: str, request: Request, ctx: Ctx) -> Response:
        """tus HEAD (offset), PATCH (append), DELETE (termination)."""
        return await upload(upload_id, request, ctx, False)

    return router


def _method(request: Request) -> str:
    return (request.headers.get("x-http-method-override") or request.method).upper()


def _prepare(request: Request, ctx: Ctx, signed: bool) -> str | None:
    """The checks of every non-OPTIONS request → the signed upload token, if any."""
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise TusVersionMismatch(headers={"Tus-Version": TUS_VERSION})
    if not signed:
        require_auth(request, ctx)
        return None
    signature = request.headers.get("x-signature")
    if not signature:
        raise InvalidRequest("Missing x-signature header")
    return signature


def _length(request: Request) -> int | None:
    length = _int_header(request, "upload-length")
    if length is not None:
        return length
    if request.headers.get("upload-defer-length") == "1":
        return None
    raise InvalidRequest("Upload-Length or Upload-Defer-Length: 1 header required")


def _int_header(request: Request, name: str) -> int | None:
    value = request.headers.get(name)
    if value is None:
        return None
    if not value.isdigit() or len(value) > 18:
        raise InvalidRequest(f"Invalid {name} header")
    return int(value)


def _upsert(request: Request) -> bool | None:
    value = request.headers.get("x-upsert")
    return None if value is None else value.lower() == "true"


def _has_body(request: Request) -> bool:
    return essence(request.headers.get("content-type", "")) == OFFSET_TYPE


async def _received(request: Request) -> AsyncIterator[bytes]:
    """The body as it arrives; a client that goes away ends it, so what came is kept."""
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        return


def _location(request: Request, upload_id: str, signed: bool) -> str:
    """The upload's absolute URL, under the ``/p/{project}`` prefix the request came by."""
    base = str(request.base_url).rstrip("/")
    prefix = str(request.scope.get("apprun.path_prefix", ""))
    return f"{base}{prefix}{PREFIX}{'/sign' if signed else ''}/{upload_id}"


def _reply(status: int, progress: Progress | None, headers: dict[str, str]) -> Response:
    sent = {"Tus-Resumable": TUS_VERSION, **headers}
    if progress is not None:
        sent["Upload-Offset"] = str(progress.offset)
        sent["Upload-Expires"] = http_date(progress.expires_at)
        if progress.complete:
            sent["Tus-Complete"] = "1"
    return Response(status_code=status, headers=sent)
