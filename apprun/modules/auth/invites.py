"""The service_role's email endpoints: ``POST /invite`` (create the user, mail the invitation)
and ``POST /admin/generate_link`` (create the user where the type calls for it and return the
link and code without sending anything, for apps that send their own mail)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import RequestContext
from apprun.modules.auth import emailstore, hooks, otp, passwords, store
from apprun.modules.auth.config import MAX_PASSWORD_LENGTH, AuthConfig
from apprun.modules.auth.emailbodies import GenerateLinkBody, InviteBody
from apprun.modules.auth.emaillinks import EmailLinks, forget_unconfirmed_password, required_email
from apprun.modules.auth.errors import EmailExists, UserNotFound, ValidationFailed
from apprun.modules.auth.kernel import AuthKernel
from apprun.modules.auth.signin import add_email_identity, new_user_row
from apprun.modules.auth.validation import normalise_email

LINK_TYPES = ("signup", "invite", "magiclink", "recovery", "email_change_current",
              "email_change_new")  # fmt: skip
CHANGE_KINDS = {"email_change_current": otp.EMAIL_CHANGE_CURRENT,
                "email_change_new": otp.EMAIL_CHANGE_NEW}  # fmt: skip
CHANGE_PAIR = {otp.EMAIL_CHANGE_CURRENT.token_type: otp.EMAIL_CHANGE_NEW,
               otp.EMAIL_CHANGE_NEW.token_type: otp.EMAIL_CHANGE_CURRENT}  # fmt: skip


class Invites:
    """Invitations and generated links (service_role only; the routes check)."""

    def __init__(self, kernel: AuthKernel, links: EmailLinks) -> None:
        self.k = kernel
        self.links = links

    async def invite(
        self, ctx: RequestContext, body: InviteBody, redirect_to: str | None
    ) -> dict[str, Any]:
        """→ the invited *User* (``invited_at`` set); 422 email_exists for a confirmed one."""
        email = required_email(body.email)
        created = False
        async with (await self.k.db(ctx)).tx() as conn:
            user = await store.select_user_by_email(conn, email)
            if user is not None and user["email_confirmed_at"] is not None:
                raise EmailExists()
            if user is None:
                user = await self._create(ctx, conn, email, body.data, None)
                created = True
            else:
                await forget_unconfirmed_password(conn, user, self.k.clock.now())
            await self.links.send(
                ctx, conn, user, otp.INVITE, to=email, redirect_to=redirect_to, pkce=None,
                guard=False,
            )  # fmt: skip
            result = await self.k.user(conn, user["id"])
        await self._created(ctx, user["id"], email, created)
        await self.k.record(ctx, "auth.user.invited", user["id"], email=email)
        return result

    async def generate_link(
        self, ctx: RequestContext, body: GenerateLinkBody, redirect_to: str | None
    ) -> dict[str, Any]:
        """→ GoTrue's flat object: the *User* and action_link, email_otp, hashed_token,
        verification_type, redirect_to."""
        if body.type not in LINK_TYPES:
            raise ValidationFailed(
                "type must be one of " + ", ".join(LINK_TYPES), details={"field": "type"}
            )
        email = required_email(body.email)
        password_hash = await self._password(body)
        config = await self.k.config(ctx)
        target = await self.links.redirect(ctx, config, redirect_to)
        async with (await self.k.db(ctx)).tx() as conn:
            user = await store.select_user_by_email(conn, email)
            user, kind, created = await self._subject(ctx, conn, body, email, user, password_hash)
            address = email
            if kind in CHANGE_KINDS.values():
                address = await self._prepare_change(ctx, conn, config, body, user, kind, target)
            link = await self.links.issue(
                ctx, conn, config, user, kind, address=address, redirect_to=target, pkce=None
            )
            result = await self.k.user(conn, user["id"])
        await self._created(ctx, user["id"], email, created)
        await self.k.record(ctx, "auth.link_generated", user["id"], type=body.type)
        return {
            **result,
            "action_link": link.action_link,
            "email_otp": link.otp,
            "hashed_token": link.hashed_token,
            "verification_type": link.verification_type,
            "redirect_to": link.redirect_to,
        }

    async def _password(self, body: GenerateLinkBody) -> str | None:
        if body.type != "signup" or not body.password:
            return None
        if len(body.password.encode()) > MAX_PASSWORD_LENGTH:
            raise ValidationFailed(
                f"Password cannot be longer than {MAX_PASSWORD_LENGTH} bytes.",
                details={"field": "password"},
            )
        return await passwords.hash_new(body.password)

    async def _subject(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        body: GenerateLinkBody,
        email: str,
        user: Any,
        password_hash: str | None,
    ) -> tuple[Any, otp.Kind, bool]:
        """The user the link is for (created for signup, invite and an unknown magic link)
        and the kind of token it gets."""
        link_type = body.type or ""
        confirmed = user is not None and user["email_confirmed_at"] is not None
        if link_type in ("signup", "invite") and confirmed:
            raise EmailExists()
        if link_type in ("recovery", *CHANGE_KINDS) and user is None:
            raise UserNotFound()
        created = user is None
        if user is None:
            user = await self._create(ctx, conn, email, body.data, password_hash)
        if link_type == "invite":
            await store.update_user(conn, user["id"], {"invited_at": self.k.clock.now()})
            return user, otp.INVITE, created
        if link_type == "signup" or (link_type == "magiclink" and created):
            return user, otp.CONFIRMATION, created  # an unknown address signs up, as GoTrue
        if link_type == "magiclink":
            return user, otp.MAGIC_LINK, created
        if link_type == "recovery":
            return user, otp.RECOVERY, created
        return user, CHANGE_KINDS[link_type], created

    async def _prepare_change(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        config: AuthConfig,
        body: GenerateLinkBody,
        user: Any,
        kind: otp.Kind,
        target: str,
    ) -> str:
        """Record ``new_email`` → the address the asked-for token relates to. A new change
        under secure email change issues the other half's token too, so that both addresses
        must confirm; asking again for the same change replaces only the asked-for token."""
        if not body.new_email:
            raise ValidationFailed(
                "new_email is required for email change links", details={"field": "new_email"}
            )
        new_email = normalise_email(body.new_email)
        taken = await store.select_user_by_email(conn, new_email)
        if taken is not None and taken["id"] != user["id"]:
            raise EmailExists()
        if user["new_email"] != new_email:
            now = self.k.clock.now()
            await emailstore.delete_user_tokens(conn, user["id"], otp.EMAIL_CHANGE_TYPES)
            await store.update_user(conn, user["id"], {"new_email": new_email, "updated_at": now})
            if config.secure_email_change and user["email"]:
                other = CHANGE_PAIR[kind.token_type]
                await self.links.issue(
                    ctx, conn, config, user, other, redirect_to=target, pkce=None,
                    address=new_email if other is otp.EMAIL_CHANGE_NEW else user["email"],
                )  # fmt: skip
        return new_email if kind is otp.EMAIL_CHANGE_NEW else str(user["email"])

    async def _create(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        email: str,
        data: dict[str, Any] | None,
        password_hash: str | None,
    ) -> Any:
        row = new_user_row(self.k.clock.now(), email=email, password_hash=password_hash,
                           provider="email", user_metadata=data, locale=ctx.locale)  # fmt: skip
        try:
            await store.insert_user(conn, row)
        except store.DuplicateKey:
            raise EmailExists() from None
        await add_email_identity(conn, row, verified=False)
        return await store.select_user(conn, row["id"])

    async def _created(self, ctx: RequestContext, user_id: str, email: str, created: bool) -> None:
        if created:
            await self.k.emit(ctx, hooks.USER_CREATED, hooks.UserEvent(user_id, email))
            await self.k.record(ctx, "auth.user.created", user_id, email=email)
