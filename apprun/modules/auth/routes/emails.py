"""/auth/v1 email flows: recover, otp, resend, verify (POST and the mailed GET link),
reauthenticate; and the service_role's invite and admin/generate_link."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from apprun.modules.auth.emailbodies import (
    GenerateLinkBody,
    InviteBody,
    OtpBody,
    RecoverBody,
    ResendBody,
    VerifyBody,
)
from apprun.modules.auth.routes.common import AuthAdminCtx, PublicCtx, body_of, redirect_param
from apprun.modules.web import Ctx

if TYPE_CHECKING:
    from apprun.modules.auth import AuthService


def build_email_router(auth: AuthService) -> APIRouter:
    router = APIRouter(prefix="/auth/v1", tags=["auth"])

    @router.post("/recover", summary="Mail a password recovery link and code")
    async def recover(ctx: PublicCtx, request: Request) -> Any:
        body = await body_of(request, RecoverBody)
        return await auth.emails.recover(ctx, body, redirect_param(request))

    @router.post("/otp", summary="Mail a magic link and sign-in code (signs up unknown addresses)")
    async def otp(ctx: PublicCtx, request: Request) -> Any:
        body = await body_of(request, OtpBody)
        return await auth.emails.sign_in_with_otp(ctx, body, redirect_param(request))

    @router.post("/resend", summary="Mail the sign-up confirmation or email change again")
    async def resend(ctx: PublicCtx, request: Request) -> Any:
        body = await body_of(request, ResendBody)
        return await auth.emails.resend(ctx, body, redirect_param(request))

    @router.post("/verify", summary="Verify a mailed code or token hash: a session")
    async def verify(ctx: PublicCtx, request: Request) -> Any:
        return await auth.verification.verify(ctx, await body_of(request, VerifyBody))

    @router.get("/verify", summary="The link in a mail: 303 to the app with a session or code")
    async def verify_link(ctx: Ctx, request: Request) -> Response:
        query = request.query_params
        url = await auth.verification.verify_link(
            ctx, query.get("token", ""), query.get("type", ""), redirect_param(request)
        )
        return RedirectResponse(url, status_code=303)

    @router.get("/reauthenticate", summary="Mail the signed-in user a code for PUT /user")
    async def reauthenticate(ctx: Ctx) -> Any:
        return await auth.emails.reauthenticate(ctx)

    @router.post("/invite", summary="Invite a user by email (service_role)")
    async def invite(ctx: AuthAdminCtx, request: Request) -> Any:
        body = await body_of(request, InviteBody)
        return await auth.invites.invite(ctx, body, redirect_param(request))

    @router.post("/admin/generate_link", summary="A user's email link and code, unsent")
    async def generate_link(ctx: AuthAdminCtx, request: Request) -> Any:
        body = await body_of(request, GenerateLinkBody)
        return await auth.invites.generate_link(ctx, body, redirect_param(request))

    return router
