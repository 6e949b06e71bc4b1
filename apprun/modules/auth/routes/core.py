"""/auth/v1: sign-up, tokens, the signed-in user, sign-out, settings, JWKS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response

from apprun import __version__
from apprun.modules.auth.account import signed_in
from apprun.modules.auth.errors import InvalidCredentials
from apprun.modules.auth.routes.common import PublicCtx, body_of, redirect_param
from apprun.modules.auth.schemas import (
    PasswordGrant,
    PkceGrant,
    RefreshGrant,
    SignupBody,
    UserUpdate,
)
from apprun.modules.web import Ctx, JsonResponse

if TYPE_CHECKING:
    from apprun.modules.auth import AuthService

JWKS_CACHE = "public, max-age=600"


def build_core_router(auth: AuthService) -> APIRouter:
    router = APIRouter(prefix="/auth/v1", tags=["auth"])

    @router.post("/signup", summary="Sign up with email and password, or anonymously")
    async def signup(ctx: PublicCtx, request: Request) -> Any:
        body = await body_of(request, SignupBody)
        return await auth.signin.signup(ctx, body, redirect_param(request))

    @router.post("/token", summary="Sign in: grant_type=password | refresh_token | pkce")
    async def token(ctx: PublicCtx, request: Request) -> Any:
        grant = request.query_params.get("grant_type")
        if grant == "password":
            return await auth.signin.password(ctx, await body_of(request, PasswordGrant))
        if grant == "refresh_token":
            return await auth.signin.refresh(ctx, await body_of(request, RefreshGrant))
        if grant == "pkce":
            return await auth.flows.exchange(ctx, await body_of(request, PkceGrant))
        raise InvalidCredentials("Unsupported grant type.", details={"field": "grant_type"})

    @router.get("/user", summary="The signed-in user")
    async def user_get(ctx: Ctx) -> Any:
        return await auth.account.get_user(ctx)

    @router.put("/user", summary="Update the signed-in user (metadata, password, email)")
    async def user_update(ctx: Ctx, request: Request) -> Any:
        signed_in(ctx)
        body = await body_of(request, UserUpdate)
        return await auth.account.update_user(ctx, body, redirect_param(request))

    @router.post("/logout", status_code=204, summary="Sign out: scope=local | global | others")
    async def logout(ctx: Ctx, request: Request) -> Response:
        signed_in(ctx)
        scope = request.query_params.get("scope", "global")
        await auth.signin.logout(ctx, ctx.principal, scope)
        return Response(status_code=204)

    @router.get("/settings", summary="Which sign-in methods this project offers")
    async def settings(ctx: PublicCtx) -> Any:
        return await auth.settings(ctx)

    @router.get("/health", summary="Liveness of the auth service")
    async def health() -> Any:
        return {"version": __version__, "name": "apprun-auth", "description": "GoTrue-compatible"}

    @router.get("/.well-known/jwks.json", summary="Public keys that verify access tokens")
    async def jwks(ctx: Ctx) -> Response:
        keys = await auth.keys.jwks(await auth.kernel.db(ctx), ctx.project)
        return JsonResponse(keys, headers={"Cache-Control": JWKS_CACHE})

    return router
