"""Sign-up, sign-in with a password, refresh, sign-out, and the signed-in user's account."""

from __future__ import annotations

import json
import secrets
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import Principal, RequestContext
from apprun.core.ids import new_id
from apprun.modules.auth import hooks, passwords, store
from apprun.modules.auth.config import AuthConfig
from apprun.modules.auth.errors import (
    AnonymousDisabled,
    AuthError,
    EmailAddressInvalid,
    EmailExists,
    EmailNotConfirmed,
    EmailProviderDisabled,
    InvalidCredentials,
    PhoneProviderDisabled,
    RefreshTokenAlreadyUsed,
    SessionExpired,
    SignupDisabled,
    UserAlreadyExists,
    UserBanned,
    ValidationFailed,
)
from apprun.modules.auth.kernel import AuthKernel, dumps
from apprun.modules.auth.limits import AuthLimits
from apprun.modules.auth.schemas import PasswordGrant, RefreshGrant, SignupBody, render_user
from apprun.modules.auth.validation import normalise_email, pkce_pair


class Confirmations(Protocol):
    """Sends the sign-up confirmation (implemented by the email flows)."""

    async def send_signup_confirmation(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        user: Any,
        redirect_to: str | None,
        pkce: tuple[str, str] | None,
    ) -> None: ...


def is_banned(user: Any, now: Any) -> bool:
    return user["banned_until"] is not None and user["banned_until"] > now


def new_user_row(
    now: Any,
    *,
    email: str | None,
    password_hash: str | None,
    provider: str,
    user_metadata: dict[str, Any] | None = None,
    app_metadata: dict[str, Any] | None = None,
    anonymous: bool = False,
    locale: str | None = None,
) -> dict[str, Any]:
    meta = {} if anonymous else {"provider": provider, "providers": [provider]}
    return {
        "id": new_id(),
        "email": email,
        "encrypted_password": password_hash,
        "is_anonymous": anonymous,
        "app_metadata": dumps({**meta, **(app_metadata or {})}),
        "user_metadata": dumps(user_metadata or {}),
        "locale": locale,
        "created_at": now,
        "updated_at": now,
    }


async def add_email_identity(conn: AsyncConnection, user: dict[str, Any], verified: bool) -> None:
    now = user["created_at"]
    data = {"sub": user["id"], "email": user["email"], "email_verified": verified,
            "phone_verified": False}  # fmt: skip
    await store.insert_identity(
        conn,
        {
            "id": new_id(),
            "user_id": user["id"],
            "provider": "email",
            "provider_id": user["id"],
            "identity_data": dumps(data),
            "email": user["email"],
            "created_at": now,
            "updated_at": now,
        },
    )


class SignIn:
    def __init__(
        self, kernel: AuthKernel, confirmations: Confirmations, limits: AuthLimits
    ) -> None:
        self.k = kernel
        self.confirmations = confirmations
        self.limits = limits

    async def signup(
        self, ctx: RequestContext, body: SignupBody, redirect_to: str | None
    ) -> dict[str, Any]:
        """→ a *Token response* (auto-confirmed or anonymous) or a bare *User*."""
        await self.limits.check(ctx, "sign_in")
        config = await self.k.config(ctx)
        if config.disable_signup:
            raise SignupDisabled()
        if body.email is None and body.phone is None:
            return await self._anonymous(ctx, config, body)
        if body.phone is not None:
            raise PhoneProviderDisabled()
        if not config.external_email_enabled:
            raise EmailProviderDisabled()
        email = normalise_email(body.email or "")
        if not body.password:
            raise ValidationFailed(
                "Signup requires a valid password", details={"field": "password"}
            )
        passwords.check_strength(body.password, config.password_min_length)
        pkce = pkce_pair(body.code_challenge, body.code_challenge_method)
        password_hash = await passwords.hash_new(body.password)
        now = self.k.clock.now()
        db = await self.k.db(ctx)
        async with db.tx() as conn:
            existing = await store.select_user_by_email(conn, email)
            if existing is not None and existing["email_confirmed_at"] is not None:
                if config.mailer_autoconfirm:
                    raise UserAlreadyExists()
                return self._decoy(existing, now)
            if existing is not None:
                # Unconfirmed: the confirmation goes out again, but the password stays the
                # first one (who signs up second has proved nothing), and the answer is the
                # decoy, which shows nothing of the account.
                await self.confirmations.send_signup_confirmation(
                    ctx, conn, existing, redirect_to, pkce
                )
                return self._decoy(existing, now)
            row = new_user_row(now, email=email, password_hash=password_hash, provider="email",
                               user_metadata=body.data, locale=ctx.locale)  # fmt: skip
            if config.mailer_autoconfirm:
                row["email_confirmed_at"] = now
            try:
                await store.insert_user(conn, row)
            except store.DuplicateKey:
                raise EmailExists() from None
            await add_email_identity(conn, row, verified=config.mailer_autoconfirm)
            if not config.mailer_autoconfirm:
                user_row = await store.select_user(conn, row["id"])
                await self.confirmations.send_signup_confirmation(
                    ctx, conn, user_row, redirect_to, pkce
                )
                result = await self.k.user(conn, row["id"])
            else:
                result = await self._open(ctx, conn, config, row["id"], "password")
        await self._created(ctx, row["id"], email, signed_in=config.mailer_autoconfirm)
        return result

    def _decoy(self, existing: Any, now: Any) -> dict[str, Any]:
        """What an unknown address would get back, so sign-up does not reveal accounts."""
        fake = dict(existing)
        fake.update(id=new_id(), created_at=now, updated_at=now, confirmation_sent_at=now,
                    email_confirmed_at=None, last_sign_in_at=None, user_metadata="{}",
                    app_metadata=dumps({"provider": "email", "providers": ["email"]}),
                    new_email=None, invited_at=None, recovery_sent_at=None,
                    email_change_sent_at=None, banned_until=None)  # fmt: skip
        return render_user(fake, [], [], None)

    async def _anonymous(
        self, ctx: RequestContext, config: AuthConfig, body: SignupBody
    ) -> dict[str, Any]:
        if not config.anonymous_users_enabled:
            raise AnonymousDisabled()
        now = self.k.clock.now()
        row = new_user_row(now, email=None, password_hash=None, provider="anonymous",
                           user_metadata=body.data, anonymous=True, locale=ctx.locale)  # fmt: skip
        async with (await self.k.db(ctx)).tx() as conn:
            await store.insert_user(conn, row)
            result = await self._open(ctx, conn, config, row["id"], "anonymous")
        await self._created(ctx, row["id"], None, signed_in=True)
        return result

    async def _created(
        self, ctx: RequestContext, user_id: str, email: str | None, *, signed_in: bool
    ) -> None:
        await self.k.emit(ctx, hooks.USER_CREATED, hooks.UserEvent(user_id, email))
        await self.k.record(ctx, "auth.user.created", user_id, email=email)
        if signed_in:
            await self.k.emit(ctx, hooks.USER_SIGNED_IN, hooks.UserEvent(user_id, email))

    async def _open(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        config: AuthConfig,
        user_id: str,
        method: str,
    ) -> dict[str, Any]:
        """Start a session for the user and answer with its tokens."""
        session_id, refresh = await self.k.sessions.start(
            conn, config, user_id, method, ip=ctx.client_ip, user_agent=ctx.extra.get("user_agent")
        )
        now = self.k.clock.now()
        await store.update_user(conn, user_id, {"last_sign_in_at": now})
        return await self.k.token_response(ctx, conn, user_id, session_id, refresh)

    async def open_session(
        self, ctx: RequestContext, conn: AsyncConnection, user_id: str, method: str
    ) -> dict[str, Any]:
        """For the other flows (email links, OAuth): a session for a verified user."""
        return await self._open(ctx, conn, await self.k.config(ctx), user_id, method)

    async def password(self, ctx: RequestContext, body: PasswordGrant) -> dict[str, Any]:
        config = await self.k.config(ctx)
        if body.phone is not None and body.email is None:
            raise PhoneProviderDisabled()
        if not config.external_email_enabled:
            raise EmailProviderDisabled()
        if not body.email:
            raise ValidationFailed("An email address is required.", details={"field": "email"})
        try:
            email: str | None = normalise_email(body.email)
        except EmailAddressInvalid:
            email = None
        account = email or body.email.strip().lower()
        await self.limits.check(ctx, "sign_in", account=account)
        db = await self.k.db(ctx)
        async with db.read() as conn:
            user = await store.select_user_by_email(conn, email) if email else None
        supplied = body.password or ""
        hashed = user["encrypted_password"] if user is not None else None
        # One argon2 verification on every path, so the answer's timing tells nothing.
        if not await passwords.matches(hashed, supplied) or not supplied or user is None:
            await self.limits.failed(ctx, "sign_in", account=account)
            raise InvalidCredentials()
        await self.limits.succeeded(ctx, "sign_in", account=account)
        if user["email_confirmed_at"] is None:
            raise EmailNotConfirmed()
        if is_banned(user, self.k.clock.now()):
            raise UserBanned()
        async with db.tx() as conn:
            result = await self._open(ctx, conn, config, user["id"], "password")
        reasons = passwords.weakness(supplied, config.password_min_length)
        if reasons:
            result["weak_password"] = {"message": "Password is weak.", "reasons": reasons}
        await self.k.emit(
            ctx, hooks.USER_SIGNED_IN, hooks.UserEvent(user["id"], email, "password", None)
        )
        await self.k.record(ctx, "auth.user.signed_in", user["id"], method="password")
        return result

    async def refresh(self, ctx: RequestContext, body: RefreshGrant) -> dict[str, Any]:
        if not body.refresh_token:
            raise ValidationFailed("refresh_token required", details={"field": "refresh_token"})
        await self.limits.check(ctx, "token_refresh")
        config = await self.k.config(ctx)
        ended: AuthError | None = None
        async with (await self.k.db(ctx)).tx() as conn:
            try:
                refreshed, token = await self.k.sessions.refresh(conn, config, body.refresh_token)
            except (RefreshTokenAlreadyUsed, SessionExpired) as error:
                ended = error  # the session's deletion commits; then the client is refused
            else:
                user = await store.select_user(conn, refreshed.user_id)
                if is_banned(user, self.k.clock.now()):
                    raise UserBanned()
                result = await self.k.token_response(
                    ctx, conn, refreshed.user_id, refreshed.session_id, token
                )
        if isinstance(ended, RefreshTokenAlreadyUsed):
            session_id = ended.details["session_id"]
            await self.k.emit(
                ctx, hooks.REFRESH_TOKEN_REUSED, hooks.UserEvent("", session_id=session_id)
            )
            await self.k.audit(
                ctx, "auth.refresh_token_reused", f"session:{session_id}", project_id=ctx.project
            )
        if ended is not None:
            raise ended
        await self.k.emit(
            ctx,
            hooks.TOKEN_REFRESHED,
            hooks.UserEvent(refreshed.user_id, session_id=refreshed.session_id),
        )
        return result

    async def logout(self, ctx: RequestContext, principal: Principal, scope: str) -> None:
        if scope not in ("global", "local", "others"):
            raise ValidationFailed(
                "scope must be global, local or others", details={"field": "scope"}
            )
        user_id = principal.subject or ""
        session_id = str(principal.claims.get("session_id", ""))
        async with (await self.k.db(ctx)).tx() as conn:
            if scope == "local":
                await self.k.sessions.end(conn, user_id, only=session_id)
            elif scope == "others":
                await self.k.sessions.end(conn, user_id, keep=session_id)
            else:
                await self.k.sessions.end(conn, user_id)
        await self.k.emit(
            ctx, hooks.USER_SIGNED_OUT, hooks.UserEvent(user_id, session_id=session_id)
        )
        await self.k.record(ctx, "auth.user.signed_out", user_id, scope=scope)


def random_password() -> str:
    return secrets.token_urlsafe(24)


def merge_metadata(current: str, patch: dict[str, Any]) -> str:
    """Top-level merge; a key sent as null is removed (GoTrue's semantics)."""
    merged = json.loads(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return dumps(merged)
