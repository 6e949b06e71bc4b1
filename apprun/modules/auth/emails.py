"""The email flows end users start: password recovery, magic links and email codes, resends,
sign-up confirmations, email changes and reauthentication codes.

``recover``, ``otp`` and ``resend`` answer ``{}`` whether or not an account has the address, and
take about as long either way (the mailer's typical send time is spent on unknown addresses),
so that they cannot be used to find out who has an account.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import RequestContext
from apprun.modules.auth import emailstore, hooks, otp, store
from apprun.modules.auth.account import signed_in
from apprun.modules.auth.config import AuthConfig
from apprun.modules.auth.emailbodies import OtpBody, RecoverBody, ResendBody
from apprun.modules.auth.emaillinks import (
    EmailLinks,
    forget_unconfirmed_password,
    required_email,
    set_email,
)
from apprun.modules.auth.errors import (
    EmailExists,
    EmailProviderDisabled,
    OtpDisabled,
    PhoneProviderDisabled,
    ReauthenticationEmailNotConfirmed,
    SessionNotFound,
    SignupDisabled,
    ValidationFailed,
)
from apprun.modules.auth.kernel import AuthKernel
from apprun.modules.auth.limits import AuthLimits
from apprun.modules.auth.signin import add_email_identity, new_user_row
from apprun.modules.auth.validation import normalise_email, pkce_pair

PHONE_TYPES = ("sms", "phone_change")


class EmailFlows:
    """Mails that end users ask for (and the confirmation sign-up sends)."""

    def __init__(self, kernel: AuthKernel, links: EmailLinks, limits: AuthLimits) -> None:
        self.k = kernel
        self.links = links
        self.limits = limits

    async def send_signup_confirmation(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        user: Any,
        redirect_to: str | None,
        pkce: tuple[str, str] | None,
    ) -> None:
        """Mail the confirmation link and code (inside the sign-up's transaction)."""
        await self.links.send(
            ctx, conn, user, otp.CONFIRMATION, to=user["email"], redirect_to=redirect_to, pkce=pkce
        )
        await self.k.record(ctx, "auth.user.confirmation_requested", user["id"])

    async def start_email_change(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        user: Any,
        new_email: str,
        redirect_to: str | None,
        pkce: tuple[str, str] | None,
    ) -> None:
        """PUT /user with ``email``: record ``new_email`` and mail the confirmation (to both
        addresses under secure email change); the address changes on verification."""
        email = normalise_email(new_email)
        if email == user["email"]:
            return
        taken = await store.select_user_by_email(conn, email)
        if taken is not None and taken["id"] != user["id"]:
            raise EmailExists()
        config = await self.k.config(ctx)
        if user["is_anonymous"] and config.mailer_autoconfirm:
            # As signing up without confirmation would: the address is taken at once.
            await set_email(conn, user, email, self.k.clock.now())
            return
        await self.links.guard(conn, config, user, otp.EMAIL_CHANGE_NEW)
        await self._mail_change(ctx, conn, config, user, email, redirect_to, pkce)
        await self.k.record(ctx, "auth.user.email_change_requested", user["id"], new_email=email)

    async def _mail_change(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        config: AuthConfig,
        user: Any,
        email: str,
        redirect_to: str | None,
        pkce: tuple[str, str] | None,
    ) -> None:
        now = self.k.clock.now()
        await emailstore.delete_user_tokens(conn, user["id"], otp.EMAIL_CHANGE_TYPES)
        await store.update_user(conn, user["id"], {"new_email": email, "updated_at": now})
        await self.links.send(
            ctx, conn, user, otp.EMAIL_CHANGE_NEW, to=email, redirect_to=redirect_to, pkce=pkce,
            new_email=email, guard=False,
        )  # fmt: skip
        if config.secure_email_change and user["email"]:
            await self.links.send(
                ctx, conn, user, otp.EMAIL_CHANGE_CURRENT, to=user["email"],
                redirect_to=redirect_to, pkce=pkce, new_email=email, guard=False,
            )  # fmt: skip

    async def recover(
        self, ctx: RequestContext, body: RecoverBody, redirect_to: str | None
    ) -> dict[str, Any]:
        """POST /recover: a recovery link and code, if an account has the address."""
        await self.limits.check(ctx, "otp")
        config = await self._email_enabled(ctx)
        email = required_email(body.email)
        pkce = pkce_pair(body.code_challenge, body.code_challenge_method)
        async with (await self.k.db(ctx)).tx() as conn:
            user = await store.select_user_by_email(conn, email)
            if user is not None:
                await self.links.send(
                    ctx, conn, user, otp.RECOVERY, to=email, redirect_to=redirect_to, pkce=pkce
                )
        if user is None:
            return await self._unknown(ctx, config, otp.RECOVERY, email)
        await self.k.record(ctx, "auth.user.recovery_requested", user["id"])
        return {}

    async def sign_in_with_otp(
        self, ctx: RequestContext, body: OtpBody, redirect_to: str | None
    ) -> dict[str, Any]:
        """POST /otp (email): a magic link and code; an unknown address signs up (unless
        ``create_user`` is false) and gets the confirmation mail, whose code also signs in."""
        await self.limits.check(ctx, "otp")
        if body.email is None and body.phone is not None:
            raise PhoneProviderDisabled()
        config = await self._email_enabled(ctx)
        email = required_email(body.email)
        pkce = pkce_pair(body.code_challenge, body.code_challenge_method)
        created = False
        async with (await self.k.db(ctx)).tx() as conn:
            user = await store.select_user_by_email(conn, email)
            if user is None:
                if not body.create_user:
                    raise OtpDisabled()
                if config.disable_signup:
                    raise SignupDisabled()
                user = await self._create(ctx, conn, config, email, body.data)
                created = True
            kind = otp.MAGIC_LINK if user["email_confirmed_at"] is not None else otp.CONFIRMATION
            if kind is otp.CONFIRMATION and not created:
                await forget_unconfirmed_password(conn, user, self.k.clock.now())
            await self.links.send(
                ctx, conn, user, kind, to=email, redirect_to=redirect_to, pkce=pkce
            )
        if created:
            await self.k.emit(ctx, hooks.USER_CREATED, hooks.UserEvent(user["id"], email))
            await self.k.record(ctx, "auth.user.created", user["id"], email=email, method="otp")
        await self.k.record(ctx, f"auth.user.{kind.token_type}_requested", user["id"])
        return {}

    async def _create(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        config: AuthConfig,
        email: str,
        data: dict[str, Any] | None,
    ) -> Any:
        now = self.k.clock.now()
        row = new_user_row(now, email=email, password_hash=None, provider="email",
                           user_metadata=data, locale=ctx.locale)  # fmt: skip
        if config.mailer_autoconfirm:
            row["email_confirmed_at"] = now
        try:
            await store.insert_user(conn, row)
        except store.DuplicateKey:  # signed up by a concurrent request
            raise EmailExists() from None
        await add_email_identity(conn, row, verified=config.mailer_autoconfirm)
        return await store.select_user(conn, row["id"])

    async def resend(
        self, ctx: RequestContext, body: ResendBody, redirect_to: str | None
    ) -> dict[str, Any]:
        """POST /resend: the sign-up confirmation or the email-change mails again; silent for
        unknown and already confirmed addresses."""
        await self.limits.check(ctx, "otp")
        if body.type in PHONE_TYPES:
            raise PhoneProviderDisabled()
        if body.type not in ("signup", "email_change"):
            raise ValidationFailed(
                "type must be signup, email_change, sms or phone_change", details={"field": "type"}
            )
        config = await self._email_enabled(ctx)
        email = required_email(body.email)
        pkce = pkce_pair(body.code_challenge, body.code_challenge_method)
        async with (await self.k.db(ctx)).tx() as conn:
            if body.type == "signup":
                user = await store.select_user_by_email(conn, email)
                if user is not None and user["email_confirmed_at"] is None:
                    await self.send_signup_confirmation(ctx, conn, user, redirect_to, pkce)
                    return {}
            else:
                user = await store.select_user_by_email(
                    conn, email
                ) or await emailstore.select_user_by_new_email(conn, email)
                if user is not None and user["new_email"]:
                    await self.links.guard(conn, config, user, otp.EMAIL_CHANGE_NEW)
                    await self._mail_change(
                        ctx, conn, config, user, user["new_email"], redirect_to, pkce
                    )
                    return {}
        kind = otp.CONFIRMATION if body.type == "signup" else otp.EMAIL_CHANGE_NEW
        return await self._unknown(ctx, config, kind, email)

    async def reauthenticate(self, ctx: RequestContext) -> dict[str, Any]:
        """GET /reauthenticate: mail the signed-in user a code for PUT /user's ``nonce``."""
        await self.limits.check(ctx, "otp")
        user_id = signed_in(ctx)
        async with (await self.k.db(ctx)).tx() as conn:
            user = await store.select_user(conn, user_id)
            if user is None:
                raise SessionNotFound()
            if not user["email"]:
                raise ValidationFailed(
                    "Reauthentication requires the user to have an email address.",
                    details={"field": "email"},
                )
            if user["email_confirmed_at"] is None:
                raise ReauthenticationEmailNotConfirmed()
            await self.links.send(
                ctx, conn, user, otp.REAUTHENTICATION, to=user["email"], redirect_to=None,
                pkce=None,
            )  # fmt: skip
        await self.k.record(ctx, "auth.user.reauthentication_requested", user_id)
        return {}

    async def _email_enabled(self, ctx: RequestContext) -> AuthConfig:
        config = await self.k.config(ctx)
        if not config.external_email_enabled:
            raise EmailProviderDisabled()
        return config

    async def _unknown(
        self, ctx: RequestContext, config: AuthConfig, kind: otp.Kind, email: str
    ) -> dict[str, Any]:
        """The answer for an address with nothing to send: the same guard, the same time."""
        await self.links.guard_unknown(ctx, config, kind.sent_at or kind.token_type, email)
        await self.links.mailer.pretend()
        return {}
