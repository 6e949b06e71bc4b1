"""/auth/v1: MFA factors (TOTP), recovery codes, and the admin's view of a user's factors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from apprun.modules.auth.account import signed_in
from apprun.modules.auth.mfa import ChallengeBody, EnrollBody, VerifyBody
from apprun.modules.auth.recovery import RecoveryBody
from apprun.modules.auth.routes.common import AuthAdminCtx, body_of
from apprun.modules.web import Ctx

if TYPE_CHECKING:
    from apprun.modules.auth import AuthService


def build_mfa_router(auth: AuthService) -> APIRouter:
    router = APIRouter(prefix="/auth/v1", tags=["auth mfa"])
    # Recovery codes first, so that /factors/recovery-codes is not read as a factor id.
    _recovery_routes(router, auth)
    _factor_routes(router, auth)
    _admin_routes(router, auth)
    return router


def _recovery_routes(router: APIRouter, auth: AuthService) -> None:
    @router.post("/factors/recovery-codes", summary="New recovery codes, shown once (aal2)")
    async def recovery_codes_create(ctx: Ctx) -> Any:
        return await auth.recovery.generate(ctx)

    @router.get("/factors/recovery-codes", summary="How many recovery codes are left")
    async def recovery_codes_status(ctx: Ctx) -> Any:
        return await auth.recovery.status(ctx)

    @router.delete("/factors/recovery-codes", summary="Void the recovery codes (aal2)")
    async def recovery_codes_delete(ctx: Ctx) -> Any:
        return await auth.recovery.delete(ctx)

    @router.post("/factors/recovery", summary="Spend a recovery code: the session goes to aal2")
    async def recovery_code_redeem(ctx: Ctx, request: Request) -> Any:
        signed_in(ctx)
        return await auth.recovery.redeem(ctx, await body_of(request, RecoveryBody))


def _factor_routes(router: APIRouter, auth: AuthService) -> None:
    @router.post("/factors", summary="Enroll a TOTP factor (unverified until its first code)")
    async def factor_enroll(ctx: Ctx, request: Request) -> Any:
        signed_in(ctx)
        return await auth.mfa.enroll(ctx, await body_of(request, EnrollBody))

    @router.post("/factors/{factor_id}/challenge", summary="Start verifying a factor")
    async def factor_challenge(ctx: Ctx, factor_id: str, request: Request) -> Any:
        signed_in(ctx)
        return await auth.mfa.challenge(ctx, factor_id, await body_of(request, ChallengeBody))

    @router.post("/factors/{factor_id}/verify", summary="Verify a code: the session goes to aal2")
    async def factor_verify(ctx: Ctx, factor_id: str, request: Request) -> Any:
        signed_in(ctx)
        return await auth.mfa.verify(ctx, factor_id, await body_of(request, VerifyBody))

    @router.delete("/factors/{factor_id}", summary="Unenroll a factor (aal2 if it is verified)")
    async def factor_unenroll(ctx: Ctx, factor_id: str) -> Any:
        return await auth.mfa.unenroll(ctx, factor_id)


def _admin_routes(router: APIRouter, auth: AuthService) -> None:
    @router.get("/admin/users/{user_id}/factors", summary="A user's MFA factors")
    async def admin_factors_list(ctx: AuthAdminCtx, user_id: str) -> Any:
        return await auth.mfa.admin_list(ctx, user_id)

    @router.delete("/admin/users/{user_id}/factors/{factor_id}", summary="Delete a user's factor")
    async def admin_factor_delete(ctx: AuthAdminCtx, user_id: str, factor_id: str) -> Any:
        return await auth.mfa.admin_delete(ctx, user_id, factor_id)
