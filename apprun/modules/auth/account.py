"""The signed-in user: who the bearer token names (for the pipeline), GET and PUT /user."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import Principal, RequestContext, Role
from apprun.core.tenancy import Placement
from apprun.lib import jwt
from apprun.modules.auth import hooks, otp, passwords, store
from apprun.modules.auth.config import AuthConfig
from apprun.modules.auth.errors import (
    BadJwt,
    CurrentPasswordInvalid,
    CurrentPasswordRequired,
    InsufficientAal,
    NoAuthorization,
    NotAdmin,
    ReauthenticationNeeded,
    ReauthenticationNotValid,
    SamePassword,
    SessionNotFound,
)
from apprun.modules.auth.kernel import AuthKernel
from apprun.modules.auth.schemas import UserUpdate
from apprun.modules.auth.signin import merge_metadata
from apprun.modules.auth.validation import pkce_pair


class EmailChanges(Protocol):
    """Starts an email change (implemented by the email flows)."""

    async def start_email_change(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        user: Any,
        new_email: str,
        redirect_to: str | None,
        pkce: tuple[str, str] | None,
    ) -> None: ...


class Account:
    def __init__(self, kernel: AuthKernel, email_changes: EmailChanges) -> None:
        self.k = kernel
        self.email_changes = email_changes

    async def authenticate(self, placement: Placement, token: str) -> Principal:
        """The end user an access token names; raises BadJwt or SessionNotFound."""
        db = self.k.tenancy.project_db(placement)
        now = int(self.k.clock.now().timestamp())
        try:
            claims = await self.k.keys.verify(db, placement.project, token, now)
        except jwt.TokenInvalid as exc:
            raise BadJwt(f"invalid JWT: {exc}") from None
        if (
            claims.get("ref") != placement.project
            or claims.get("aud") != "authenticated"
            or claims.get("iss") != self.k.sessions.issuer(placement.project)
            or not isinstance(claims.get("sub"), str)
        ):
            raise BadJwt("invalid JWT: issued for another project or audience")
        session_id = claims.get("session_id")
        if not isinstance(session_id, str) or not await self.k.sessions.check_session(
            db, placement.project, session_id
        ):
            raise SessionNotFound()
        return Principal(
            Role.AUTHENTICATED,
            subject=claims["sub"],
            email=claims.get("email") or None,
            key_verified=True,
            aal=str(claims.get("aal", "aal1")),
            claims=claims,
        )

    async def get_user(self, ctx: RequestContext) -> dict[str, Any]:
        user_id = signed_in(ctx)
        async with (await self.k.db(ctx)).read() as conn:
            return await self.k.user(conn, user_id)

    async def update_user(
        self, ctx: RequestContext, body: UserUpdate, redirect_to: str | None
    ) -> dict[str, Any]:
        user_id = signed_in(ctx)
        if body.app_metadata is not None:
            raise NotAdmin("app_metadata can only be changed with the service_role key.")
        config = await self.k.config(ctx)
        pkce = pkce_pair(body.code_challenge, body.code_challenge_method)
        now = self.k.clock.now()
        changes: dict[str, Any] = {}
        async with (await self.k.db(ctx)).tx() as conn:
            row = await store.select_user(conn, user_id)
            if row is None:
                raise SessionNotFound()
            sensitive = body.password is not None or body.email is not None
            if (
                sensitive
                and ctx.principal.aal != "aal2"
                and await _has_verified_factor(conn, user_id)
            ):
                raise InsufficientAal()
            if body.data is not None:
                changes["user_metadata"] = merge_metadata(row["user_metadata"], body.data)
            if body.password is not None:
                await self._check_password_change(ctx, conn, row, body, config)
                passwords.check_strength(body.password, config.password_min_length)
                changes["encrypted_password"] = await passwords.hash_new(body.password)
                changes["password_changed_at"] = now
            if changes:
                changes["updated_at"] = now
                await store.update_user(conn, user_id, changes)
            if body.password is not None:  # other sessions end with the old password
                await self.k.sessions.end(
                    conn, user_id, keep=str(ctx.principal.claims.get("session_id"))
                )
            if body.email is not None:
                await self.email_changes.start_email_change(
                    ctx, conn, await store.select_user(conn, user_id), body.email, redirect_to, pkce
                )
            result = await self.k.user(conn, user_id)
        await self.k.emit(ctx, hooks.USER_UPDATED, hooks.UserEvent(user_id, result["email"]))
        if body.password is not None:
            await self.k.emit(ctx, hooks.PASSWORD_CHANGED, hooks.UserEvent(user_id))
            await self.k.record(ctx, "auth.user.password_changed", user_id)
        return result

    async def _check_password_change(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        row: Any,
        body: UserUpdate,
        config: AuthConfig,
    ) -> None:
        """A session older than ``recent_sign_in_seconds`` proves it is still its user with a
        reauthentication code (``nonce``, from GET /reauthenticate) or, unless
        ``secure_password_change`` is on, with the current password."""
        assert body.password is not None
        if row["encrypted_password"] and await passwords.matches(
            row["encrypted_password"], body.password
        ):
            raise SamePassword()
        signed_in_at = _session_start(ctx)
        now = self.k.clock.now()
        recent = signed_in_at is not None and (
            now.timestamp() - signed_in_at < config.recent_sign_in_seconds
        )
        if recent:
            return
        if body.nonce is not None:
            if not row["email"] or not await otp.consume_nonce(
                conn, now, self.k.otp_key, row["id"], row["email"], body.nonce
            ):
                raise ReauthenticationNotValid()
            return
        if config.secure_password_change:
            raise ReauthenticationNeeded()
        if not row["encrypted_password"]:
            return
        if body.current_password is None:
            raise CurrentPasswordRequired()
        if not await passwords.matches(row["encrypted_password"], body.current_password):
            raise CurrentPasswordInvalid()


def signed_in(ctx: RequestContext) -> str:
    """The user id of the request's end user, or GoTrue's refusal."""
    principal = ctx.principal
    if principal.role is Role.AUTHENTICATED and principal.subject:
        return principal.subject
    error = ctx.extra.get("jwt_error")
    if error == "session_not_found":
        raise SessionNotFound()
    if error:
        raise BadJwt(error)
    raise NoAuthorization()


def _session_start(ctx: RequestContext) -> float | None:
    amr = ctx.principal.claims.get("amr")
    if not isinstance(amr, list) or not amr:
        return None
    stamps = [e.get("timestamp") for e in amr if isinstance(e, dict)]
    return float(max(s for s in stamps if isinstance(s, int))) if stamps else None


async def _has_verified_factor(conn: AsyncConnection, user_id: str) -> bool:
    factors = await store.select_factors(conn, [user_id])
    return any(f["status"] == "verified" for f in factors)
