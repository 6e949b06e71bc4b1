"""What the /auth/v1 routes share: key checks and body parsing."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, Request

from apprun.core.context import RequestContext
from apprun.core.errors import Unauthorized
from apprun.modules.auth.errors import NoAuthorization, NotAdmin
from apprun.modules.auth.schemas import Body
from apprun.modules.web import Ctx

B = TypeVar("B", bound=Body)


def public_context(ctx: Ctx) -> RequestContext:
    """A public endpoint: the project's key is required; a bearer token is not looked at."""
    if not ctx.principal.key_verified:
        raise Unauthorized("No API key found in request.")
    return ctx


def admin_context(ctx: Ctx) -> RequestContext:
    """GoTrue's admin endpoints: the service_role key (or a platform admin)."""
    if ctx.principal.is_service:
        return ctx
    if not ctx.principal.key_verified:
        raise NoAuthorization()
    raise NotAdmin()


PublicCtx = Annotated[RequestContext, Depends(public_context)]
AuthAdminCtx = Annotated[RequestContext, Depends(admin_context)]


async def body_of(request: Request, model: type[B]) -> B:
    parsed: B = model.parse(await request.body())
    return parsed


def redirect_param(request: Request) -> str | None:
    return request.query_params.get("redirect_to") or None
