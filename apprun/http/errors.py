"""The one place where errors become HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def render_error(error: AppError, request_id: str | None, path: str = "") -> JsonResponse:
    """The one rendering of errors: PostgREST's shape under /rest/v1, apprun's elsewhere."""
    if path.startswith(POSTGREST_PREFIX):
        return _render_postgrest(error)
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


def _field_errors(errors: Any) -> list[dict[str, Any]]:
    fields = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body",)]
        fields.append({"field": ".".join(loc), "reason": err.get("msg", "invalid")})
    return fields


async def _app_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, AppError)
    return render_error(exc, request_id_of(request), request.url.path)


async def _validation_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return render_error(InvalidJson(), request_id_of(request), request.url.path)
    error = ValidationFailed(details={"fields": _field_errors(errors)})
    return render_error(error, request_id_of(request), request.url.path)


async def _http_error(request: Request, exc: Exception) -> JsonResponse:
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
    return render_error(error, request_id_of(request), request.url.path)


async def _unexpected(request: Request, exc: Exception) -> JsonResponse:
    request_id = request_id_of(request)
    log.error("unexpected error", exc_info=exc, extra={"request_id": request_id})
    return render_error(AppError(), request_id, request.url.path)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
