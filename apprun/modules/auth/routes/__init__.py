"""The routes of /auth/v1 and of the auth admin API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter

from apprun.modules.auth.routes.admin_config import build_config_router
from apprun.modules.auth.routes.admin_users import build_admin_users_router
from apprun.modules.auth.routes.core import build_core_router
from apprun.modules.auth.routes.emails import build_email_router
from apprun.modules.auth.routes.mfa import build_mfa_router
from apprun.modules.auth.routes.oauth import build_oauth_router, build_providers_router

if TYPE_CHECKING:
    from apprun.modules.auth import AuthService


def build_routers(auth: AuthService) -> list[APIRouter]:
    return [
        build_core_router(auth),
        build_config_router(auth),
        build_email_router(auth),
        build_mfa_router(auth),
        build_oauth_router(auth),
        build_providers_router(auth),
        build_admin_users_router(auth),
    ]
