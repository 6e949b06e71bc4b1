"""/admin/v1: the project's auth configuration and its token signing keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from apprun.modules.auth.config import AuthConfig, AuthConfigPatch
from apprun.modules.web import AdminCtx, ServiceCtx

if TYPE_CHECKING:
    from apprun.modules.auth import AuthService


class RotateSigningKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alg: Literal["ES256", "RS256"] = "ES256"


def build_config_router(auth: AuthService) -> APIRouter:
    router = APIRouter(prefix="/admin/v1", tags=["auth admin"])

    @router.get("/auth/config", response_model=AuthConfig, summary="The project's auth settings")
    async def config_get(ctx: ServiceCtx) -> Any:
        return public_config(await auth.kernel.config(ctx))

    @router.patch("/auth/config", response_model=AuthConfig, summary="Change auth settings")
    async def config_update(ctx: ServiceCtx, patch: AuthConfigPatch) -> Any:
        return public_config(await auth.update_config(ctx, patch))

    @router.get("/projects/{project_id}/signing-keys", summary="The project's signing keys")
    async def keys_list(ctx: AdminCtx, project_id: str) -> Any:
        return await auth.signing_keys(ctx, project_id)

    @router.post(
        "/projects/{project_id}/signing-keys/rotate",
        summary="Sign new tokens with a new key; old keys verify until their tokens expire",
    )
    async def keys_rotate(
        ctx: AdminCtx, project_id: str, body: RotateSigningKey | None = None
    ) -> Any:
        return await auth.rotate_signing_key(ctx, project_id, (body or RotateSigningKey()).alg)

    return router


def public_config(config: AuthConfig) -> dict[str, Any]:
    """The configuration without secrets (the SMTP password shows as set or not)."""
    data = config.model_dump(mode="json")
    if config.smtp is not None:
        data["smtp"]["password"] = "********" if config.smtp.password else None
    return data
