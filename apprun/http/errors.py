"""The one place where errors become HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, Response

from apprun.core.errors import (
    AppError,
    BadRequest,
    InvalidJson,
    MethodNotAllowed,
    NotFound,
    ValidationFailed,
)
from apprun.modules.web import JsonResponse

log = logging.getLogger("apprun.errors")


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


POSTGREST_PREFIX = "/rest/v1"
GOTRUE_PREFIX = "/auth/v1"
STORAGE_PREFIX = "/storage/v1"
TUS_PREFIX = "/storage/v1/upload/resumable"
STORAGE_CODES = {
    # Errors raised outside the storage module, in Storage's vocabulary: (code, error, status).
    "request.body_too_large": ("EntityTooLarge", "Payload too large", 413),
    "request.rate_limited": ("SlowDown", "SlowDown", 429),
    "request.validation_failed": ("InvalidRequest", "InvalidRequest", 400),
    "request.invalid_json": ("InvalidRequest", "InvalidRequest", 400),
}
GOTRUE_API_VERSION = "2024-01-01"
GOTRUE_CODES_BY_STATUS = {
    400: "validation_failed",
    401: "no_authorization",
    403: "not_admin",
    404: "not_found",
    405: "validation_failed",
    409: "conflict",
    413: "request_entity_too_large",
    422: "validation_failed",
    429: "over_request_rate_limit",
}
GOTRUE_CODES = {
    "request.invalid_json": "bad_json",
    "request.validation_failed": "bad_json",
    "auth.invalid_api_key": "bad_jwt",
    "auth.expired_token": "bad_jwt",
    "auth.invalid_token": "bad_jwt",
}


def render_error(
    error: AppError,
    request_id: str | None,
    path: str = "",
    api_version: str | None = None,
    method: str = "GET",
) -> Response:
    """The one rendering of errors: PostgREST's shape under /rest/v1, GoTrue's under /auth/v1,
    Storage's under /storage/v1 (tus: plain text), apprun's elsewhere."""
    if path.startswith(POSTGREST_PREFIX):
        return _render_postgrest(error)
    if path.startswith(TUS_PREFIX):
        return _render_tus(error)
    if path.startswith(STORAGE_PREFIX):
        return _render_storage(error, path, method)
    if path.startswith(GOTRUE_PREFIX) and not path.startswith(GOTRUE_PREFIX + "/admin/v1"):
        return _render_gotrue(error, request_id, api_version)
    body = {
        "error": {
            "code": error.code,
            "message": error.detail_message,
            "details": error.details,
            "request_id": request_id,
        }
    }
    return JsonResponse(body, status_code=error.status, headers=error.headers)


def _render_postgrest(error: AppError) -> JsonResponse:
    code = getattr(error, "pg_code", None) or getattr(error, "postgrest_code", None) or error.code
    body = {
        "code": code,
        "message": error.detail_message,
        "details": getattr(error, "pg_details", None),
        "hint": getattr(error, "hint", None),
    }
    headers = {**error.headers, "Proxy-Status": f"PostgREST; error={code}"}
    if error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JsonResponse(body, status_code=error.status, headers=headers)


def _storage_fields(error: AppError, path: str, method: str) -> tuple[str, str, int, int]:
    """(code, error label, semantic status, HTTP status) of ``error`` on a Storage route."""
    code = getattr(error, "storage_code", None)
    if code is not None:
        return str(code), error.error_label, error.semantic_status, error.status  # type: ignore[attr-defined]
    if error.code in STORAGE_CODES:
        code, label, semantic = STORAGE_CODES[error.code]
        return code, label, semantic, 400 if semantic < 416 else semantic
    if error.status == 404:
        return "InvalidRequest", "Not Found", 404, 404
    if error.status in (401, 403):
        return "AccessDenied", "Unauthorized", 403, 400
    if error.status >= 500:
        return "InternalError", "InternalError", 500, 500
    return "InvalidRequest", "InvalidRequest", error.status, 400


def _render_storage(error: AppError, path: str, method: str) -> Response:
    """Storage's ``{statusCode, error, message, code}``: handled client errors go out as
    HTTP 400 with the semantic status in the body, as Supabase Storage does."""
    code, label, semantic, status = _storage_fields(error, path, method)
    message = error.detail_message
    if error.status == 404 and getattr(error, "storage_code", None) is None:
        message = f"Route {method}:{path} not found"
    elif status >= 500:
        message = "Internal server error"
    headers = dict(error.headers)
    if method == "HEAD":
        return Response(status_code=status, headers=headers)
    body = {"statusCode": str(semantic), "error": label, "message": message, "code": code}
    return JsonResponse(body, status_code=status, headers=headers)


def _render_tus(error: AppError) -> Response:
    """tus answers with the real status and the message as plain text."""
    status = getattr(error, "tus_status", None) or error.status
    message = "Internal server error" if status >= 500 else error.detail_message
    headers = {"Tus-Resumable": "1.0.0", **error.headers}
    return PlainTextResponse(message, status_code=status, headers=headers)


def _render_gotrue(
    error: AppError, request_id: str | None, api_version: str | None
) -> JsonResponse:
    """GoTrue's two shapes: ``{code, message}`` for clients that send
    ``X-Supabase-Api-Version`` (echoed back), ``{code: status, error_code, msg}`` otherwise."""
    error_code = (
        getattr(error, "error_code", None)
        or GOTRUE_CODES.get(error.code)
        or GOTRUE_CODES_BY_STATUS.get(error.status, "unexpected_failure")
    )
    body: dict[str, Any]
    headers = dict(error.headers)
    if api_version is not None and api_version >= GOTRUE_API_VERSION:
        body = {"code": error_code, "message": error.detail_message}
        headers["X-Supabase-Api-Version"] = GOTRUE_API_VERSION
    else:
        body = {"code": error.status, "error_code": error_code, "msg": error.detail_message}
        headers["x-sb-error-code"] = error_code
        if error.status >= 500:
            body["error_id"] = request_id
    reasons = error.details.get("reasons") if error_code == "weak_password" else None
    if reasons is not None:
        body["weak_password"] = {"reasons": reasons}
    elif error.details and error.status < 500:
        body["details"] = error.details
    return JsonResponse(body, status_code=error.status, headers=headers)


def _field_errors(errors: Any) -> list[dict[str, Any]]:
    fields = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body",)]
        fields.append({"field": ".".join(loc), "reason": err.get("msg", "invalid")})
    return fields


def _render(request: Request, error: AppError) -> Response:
    version = request.headers.get("x-supabase-api-version")
    return render_error(error, request_id_of(request), request.url.path, version, request.method)


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return _render(request, exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return _render(request, InvalidJson())
    return _render(request, ValidationFailed(details={"fields": _field_errors(errors)}))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    error: AppError
    if exc.status_code == 404:
        error = NotFound("No route matches this path.")
    elif exc.status_code == 405:
        error = MethodNotAllowed(headers=dict(exc.headers or {}))
    elif 400 <= exc.status_code < 500:
        error = BadRequest(str(exc.detail))
    else:
        error = AppError()
    return _render(request, error)


async def _unexpected(request: Request, exc: Exception) -> Response:
    request_id = request_id_of(request)
    log.error("unexpected error", exc_info=exc, extra={"request_id": request_id})
    return _render(request, AppError())


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
