"""/auth/v1/authorize and /auth/v1/callback (open: browsers navigate there, no key needed), and
the project's sign-in providers at /admin/v1/auth/providers (service_role or admin)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from apprun.modules.auth.oauth import AuthorizeRequest
from apprun.modules.auth.providers import ProviderCreate, ProviderOut, ProviderPatch
from apprun.modules.web import Ctx, ServiceCtx

if TYPE_CHECKING:
    from apprun.modules.auth import AuthService

FORM = "application/x-www-form-urlencoded"
REDIRECT: dict[int | str, dict[str, Any]] = {
    302: {"description": "To the provider, or back to the application's redirect_to."}
}


def build_oauth_router(auth: AuthService) -> APIRouter:
    router = APIRouter(prefix="/auth/v1", tags=["auth"])

    @router.get(
        "/authorize",
        status_code=302,
        responses=REDIRECT,
        summary="Sign in with a provider: provider, redirect_to, scopes, code_challenge",
    )
    async def oauth_authorize(ctx: Ctx, request: Request) -> Response:
        query = AuthorizeRequest.from_query(request.query_params)
        return RedirectResponse(await auth.oauth.authorize(ctx, query), status_code=302)

    @router.get(
        "/callback",
        status_code=302,
        responses=REDIRECT,
        summary="Where the provider sends the browser back (code and state, or error)",
    )
    async def oauth_callback(ctx: Ctx, request: Request) -> Response:
        params = dict(request.query_params)
        return RedirectResponse(await auth.oauth.callback(ctx, params), status_code=302)

    @router.post(
        "/callback",
        status_code=302,
        responses=REDIRECT,
        summary="The callback posted by the provider (response_mode=form_post, as Apple's)",
    )
    async def oauth_callback_posted(ctx: Ctx, request: Request) -> Response:
        params = dict(request.query_params)
        if request.headers.get("content-type", "").startswith(FORM):
            body = (await request.body()).decode("utf-8", "replace")
            params.update(parse_qsl(body))
        return RedirectResponse(await auth.oauth.callback(ctx, params), status_code=302)

    return router


def _body(model: type[Any]) -> dict[str, Any]:
    schema = {"content": {"application/json": {"schema": model.model_json_schema()}}}
    return {"requestBody": {**schema, "required": True}}


def build_providers_router(auth: AuthService) -> APIRouter:
    router = APIRouter(prefix="/admin/v1/auth/providers", tags=["auth admin"])

    @router.get("", response_model=list[ProviderOut], summary="The project's sign-in providers")
    async def providers_list(ctx: ServiceCtx) -> Any:
        return await auth.providers.list_providers(ctx)

    @router.post(
        "",
        status_code=201,
        response_model=ProviderOut,
        openapi_extra=_body(ProviderCreate),
        summary="Add a sign-in provider (generic OpenID Connect or a preset)",
    )
    async def provider_create(ctx: ServiceCtx, request: Request) -> Any:
        return await auth.providers.create_provider(ctx, await request.body())

    @router.get("/{name}", response_model=ProviderOut, summary="One sign-in provider")
    async def provider_get(ctx: ServiceCtx, name: str) -> Any:
        return await auth.providers.get_provider(ctx, name)

    @router.patch(
        "/{name}",
        response_model=ProviderOut,
        openapi_extra=_body(ProviderPatch),
        summary="Change a sign-in provider (null resets a field)",
    )
    async def provider_update(ctx: ServiceCtx, name: str, request: Request) -> Any:
        return await auth.providers.update_provider(ctx, name, await request.body())

    @router.delete("/{name}", status_code=204, summary="Remove a sign-in provider")
    async def provider_delete(ctx: ServiceCtx, name: str) -> Response:
        await auth.providers.delete_provider(ctx, name)
        return Response(status_code=204)

    return router
