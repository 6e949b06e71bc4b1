"""What every module's routes share: the JSON response class and the request context."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import JSONResponse

from apprun.core.context import RequestContext
from apprun.core.errors import Forbidden, Unauthorized


class JsonResponse(JSONResponse):
    """JSON rendered by orjson (datetimes as RFC 3339, UUIDs, dataclasses, pydantic dumps).

    A ``JSONResponse`` subclass, so that FastAPI documents the routes' response models.
    """

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z, default=_default)


def _default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# Declared for the OpenAPI document (security schemes); the pipeline reads the headers itself.
_api_key = APIKeyHeader(
    name="apikey",
    auto_error=False,
    scheme_name="apikey",
    description="The project's anon or service_role key.",
)
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A project key, or a platform administrator's token.",
)


def request_context(
    request: Request,
    _key: Annotated[str | None, Security(_api_key)] = None,
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> RequestContext:
    ctx = getattr(request.state, "ctx", None)
    if not isinstance(ctx, RequestContext):  # a route outside the pipeline asked for one
        raise RuntimeError("the request pipeline did not set a RequestContext")
    return ctx


Ctx = Annotated[RequestContext, Depends(request_context)]


class AdminRequired(Forbidden):
    code = "platform.admin_required"
    message = "This needs a platform administrator."


class ServiceRoleRequired(Forbidden):
    code = "platform.service_role_required"
    message = "This needs the project's service_role key or a platform administrator."


def admin_context(ctx: Ctx) -> RequestContext:
    if ctx.principal.is_admin:
        return ctx
    if not ctx.principal.key_verified:
        raise Unauthorized("Sign in as a platform administrator (Authorization: Bearer …).")
    raise AdminRequired()


def service_context(ctx: Ctx) -> RequestContext:
    if ctx.principal.is_service:
        return ctx
    if not ctx.principal.key_verified:
        raise Unauthorized("An API key is required (apikey header).")
    raise ServiceRoleRequired()


AdminCtx = Annotated[RequestContext, Depends(admin_context)]
ServiceCtx = Annotated[RequestContext, Depends(service_context)]
