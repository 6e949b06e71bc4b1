"""Pure ASGI middleware: request id, access log and metrics, body size limit."""

from __future__ import annotations

import re
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apprun.core.errors import PayloadTooLarge
from apprun.core.ids import new_id
from apprun.http.metrics import Metrics

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,100}$")
access_log = structlog.get_logger("apprun.access")


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class ObservabilityMiddleware:
    """Gives every request an id (accepted from ``X-Request-Id`` when well-formed), and records
    one access-log line and the RED metrics per request, labelled by route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics, log_requests: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = header(scope, REQUEST_ID_HEADER)
        request_id = given.decode() if given and _VALID_REQUEST_ID.match(given) else new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER, request_id.encode()),
                    # Browsers must not guess a type: a JSON answer is never run as HTML.
                    (b"x-content-type-options", b"nosniff"),
                ]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            if self.log_requests:
                _log(scope, request_id, route, status, elapsed)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "<unmatched>"


def _log(scope: Scope, request_id: str, route: str, status: int, elapsed: float) -> None:
    state: dict[str, Any] = scope.get("state", {})
    ctx = state.get("ctx")
    access_log.info(
        "request",
        request_id=request_id,
        method=scope["method"],
        path=scope["path"],
        route=route,
        status=status,
        duration_ms=round(elapsed * 1000, 2),
        project=getattr(ctx, "project", None),
        client=(scope.get("client") or ("", 0))[0],
    )


class BodyLimitMiddleware:
    """Refuses bodies over ``max_bytes``: by ``Content-Length`` before reading, and by counting
    while reading when the length is not declared (chunked uploads).

    Paths under ``streamed_prefixes`` (object uploads) are left to their routes, which
    stream the body and enforce their own limits."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, streamed_prefixes: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed_prefixes = streamed_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.streamed_prefixes):
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _reject_too_large(scope, send, self.max_bytes)
            return
        received = 0
        rejected = False

        async def limited_receive() -> Message:
            nonlocal received, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer 413 now; the app sees a disconnected client and its answer is dropped.
                    rejected = True
                    await _reject_too_large(scope, send, self.max_bytes)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not rejected:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)


async def _reject_too_large(scope: Scope, send: Send, max_bytes: int) -> None:
    from apprun.http.errors import render_error

    response = render_error(
        PayloadTooLarge(details={"max_bytes": max_bytes}),
        scope.get("state", {}).get("request_id"),
        scope.get("path", ""),
    )
    await response(scope, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


PROJECT_PREFIX = re.compile(r"^/p/([a-z][a-z0-9-]{1,39})(/.*)$")


class ProjectPathMiddleware:
    """``/p/{project}/…`` is ``/…`` for that project: a base URL per project
    (``createClient('https://host/p/shop', key)``), so links in emails and OAuth redirects,
    which carry no headers, still name their project."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            match = PROJECT_PREFIX.match(scope["path"])
            if match is not None:
                project, rest = match.groups()
                headers = [(k, v) for k, v in scope["headers"] if k != b"x-apprun-project"]
                scope = {
                    **scope,
                    "path": rest,
                    "raw_path": rest.encode(),
                    "headers": [*headers, (b"x-apprun-project", project.encode())],
                    "apprun.path_prefix": f"/p/{project}",  # for absolute URLs (tus Location)
                }
        await self.app(scope, receive, send)
