"""What every auth use case shares: the project's database and configuration, users in
GoTrue's shape, token responses, hooks and the audit log. The flows (sign-in, email, MFA,
OAuth, admin) build on this object."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.clock import Clock
from apprun.core.context import RequestContext
from apprun.core.db import Database
from apprun.core.hooks import Hooks
from apprun.core.tenancy import Placement, Tenancy
from apprun.modules.auth import hooks, store
from apprun.modules.auth.config import AuthConfig, ConfigStore
from apprun.modules.auth.errors import UserNotFound
from apprun.modules.auth.keys import SigningKeys
from apprun.modules.auth.schemas import render_user
from apprun.modules.auth.sessions import Sessions

log = logging.getLogger("apprun.auth")

PlacementOf = Callable[[str], Awaitable[Placement]]
AuditRecord = Callable[..., Awaitable[None]]
UserRoles = Callable[[AsyncConnection, str], Awaitable[list[str]]]
SiteSettings = Callable[[RequestContext], Awaitable[tuple[str | None, int]]]
"""The project's (site URL, access-token lifetime in seconds)."""

CONFIG_CACHE_SECONDS = 2.0


class AuthKernel:
    def __init__(
        self,
        tenancy: Tenancy,
        hooks_bus: Hooks,
        clock: Clock,
        placement_of: PlacementOf,
        audit: AuditRecord,
        user_roles: UserRoles,
        site_settings: SiteSettings,
        configs: ConfigStore,
        sessions: Sessions,
        keys: SigningKeys,
        public_url: str,
        otp_key: bytes,
    ) -> None:
        self.tenancy = tenancy
        self.hooks = hooks_bus
        self.clock = clock
        self.placement_of = placement_of
        self.audit = audit
        self.user_roles = user_roles
        self.site_settings = site_settings
        self.configs = configs
        self.sessions = sessions
        self.keys = keys
        self.otp_key = otp_key
        """Keys the token hashes of email links and codes (``otp.token_hash``)."""
        self.public_url = public_url.rstrip("/")
        self._config_cache: dict[str, tuple[float, AuthConfig]] = {}

    async def db(self, ctx: RequestContext) -> Database:
        placement = ctx.placement or await self.placement_of(ctx.project)
        db = self.tenancy.project_db(placement)
        # Tokens are signed inside write transactions; SQLite has one writer, so the first
        # signing key is made (once, cached) before any transaction begins.
        await self.keys.keys(db, ctx.project)
        return db

    async def config(self, ctx: RequestContext) -> AuthConfig:
        cached = self._config_cache.get(ctx.project)
        if cached is not None and time.monotonic() - cached[0] < CONFIG_CACHE_SECONDS:
            return cached[1]
        config = await self.configs.load(await self.db(ctx), ctx.project)
        self._config_cache[ctx.project] = (time.monotonic(), config)
        return config

    def forget_config(self, project: str) -> None:
        self._config_cache.pop(project, None)

    def auth_url(self, project: str) -> str:
        """Base of the project's /auth/v1 links (``/p/<project>`` for non-default projects)."""
        return self.sessions.issuer(project)

    async def user(self, conn: AsyncConnection, user_id: str) -> dict[str, Any]:
        """The user in GoTrue's shape, with identities, factors and roles; 404 if missing."""
        row = await store.select_user(conn, user_id)
        if row is None:
            raise UserNotFound()
        return await self.render(conn, row)

    async def render(self, conn: AsyncConnection, row: Any) -> dict[str, Any]:
        identities = await store.select_identities(conn, [row["id"]])
        factors = await store.select_factors(conn, [row["id"]])
        return render_user(row, identities, factors, await self.user_roles(conn, row["id"]))

    async def token_response(
        self, ctx: RequestContext, conn: AsyncConnection, user_id: str, session_id: str,
        refresh_token: str,
    ) -> dict[str, Any]:  # fmt: skip
        """GoTrue's *Token response* for a session (inside the caller's transaction)."""
        db = await self.db(ctx)
        user = await self.user(conn, user_id)
        session = await store.select_session(conn, session_id)
        _, expiry = await self.site_settings(ctx)
        token, expires_at = await self.sessions.access_token(db, ctx.project, user, session, expiry)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": expiry,
            "expires_at": expires_at,
            "refresh_token": refresh_token,
            "user": user,
        }

    async def emit(self, ctx: RequestContext, name: str, event: hooks.UserEvent) -> None:
        await self.hooks.emit(name, event, project=ctx.project)

    async def record(self, ctx: RequestContext, action: str, user_id: str, **details: Any) -> None:
        """Append a security-relevant event to the audit log (project-scoped)."""
        await self.audit(ctx, action, f"user:{user_id}", project_id=ctx.project, **details)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
