"""What every email flow does: check the per-address guard, issue a one-time token (with a
PKCE flow state when the client sent a challenge), build its ``/verify`` link, render the mail
in the user's locale and send it.

Mails are sent inside the caller's transaction: a mail that cannot be sent rolls the whole
request back (no token, no ``*_sent_at`` stamp, no user created), as GoTrue does. The send is
bounded by the mailer's timeout.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import RequestContext
from apprun.core.ids import new_id
from apprun.modules.auth import mailtemplates, otp, store
from apprun.modules.auth.config import AuthConfig
from apprun.modules.auth.errors import EmailExists, RateLimitedEmails, ValidationFailed
from apprun.modules.auth.flows import Flows
from apprun.modules.auth.kernel import AuthKernel, dumps
from apprun.modules.auth.limits import AuthLimits
from apprun.modules.auth.mailer import Mail, Mailer
from apprun.modules.auth.validation import normalise_email, safe_redirect


def required_email(raw: str | None) -> str:
    """The body's address, normalised; 400 when missing or not an address."""
    if not raw:
        raise ValidationFailed("An email address is required.", details={"field": "email"})
    return normalise_email(raw)


@dataclass(frozen=True, slots=True)
class Link:
    """An issued token and the ways to use it (the shape generate_link returns)."""

    otp: str
    hashed_token: str
    action_link: str
    verification_type: str
    redirect_to: str


class EmailLinks:
    """Issues users' one-time tokens, builds their links, mails them."""

    def __init__(self, kernel: AuthKernel, mailer: Mailer, limits: AuthLimits) -> None:
        self.k = kernel
        self.mailer = mailer
        self.limits = limits
        self._flows: Flows | None = None

    def bind(self, flows: Flows) -> None:
        """PKCE links record a flow state (Flows is built after the email flows)."""
        self._flows = flows

    async def redirect(self, ctx: RequestContext, config: AuthConfig, wanted: str | None) -> str:
        site_url, _ = await self.k.site_settings(ctx)
        return safe_redirect(wanted, site_url, config.uri_allow_list)

    async def guard(
        self, conn: AsyncConnection, config: AuthConfig, user: Any, kind: otp.Kind
    ) -> None:
        """429 over_email_send_rate_limit when a mail of this kind went out too recently."""
        if kind.sent_at is not None:
            last = user[kind.sent_at]
        else:
            last = await otp.last_issued(conn, user["id"], kind)
        self._check_interval(config, last)

    async def guard_unknown(
        self, ctx: RequestContext, config: AuthConfig, kind: str, address: str
    ) -> None:
        """The same guard for an address no account has (recover, otp, resend): there is no
        row to stamp, so the shared rate limiter remembers it, and a second request within
        the interval answers 429 on every worker whether or not the account exists."""
        wait = await self.limits.once_per(ctx, kind, address, config.email_max_frequency_seconds)
        if wait > 0:
            raise RateLimitedEmails(
                f"For security purposes, you can only request this after {math.ceil(wait)} "
                "seconds.",
                details={"retry_after": math.ceil(wait)},
            )

    def _check_interval(self, config: AuthConfig, last: datetime | None) -> None:
        interval = config.email_max_frequency_seconds
        if not interval or last is None:
            return
        remaining = interval - (self.k.clock.now() - last).total_seconds()
        if remaining > 0:
            raise RateLimitedEmails(
                "For security purposes, you can only request this after "
                f"{int(remaining + 0.999)} seconds.",
                details={"retry_after": int(remaining + 0.999)},
            )

    async def issue(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        config: AuthConfig,
        user: Any,
        kind: otp.Kind,
        *,
        address: str,
        redirect_to: str,
        pkce: tuple[str, str] | None,
    ) -> Link:
        """A new token of ``kind`` for ``address`` (``redirect_to`` already checked)."""
        flow_id = None
        if pkce is not None:
            assert self._flows is not None, "EmailLinks.bind(flows) was not called"
            flow_id = await self._flows.start(
                conn, provider="email", method=kind.flow_method, user_id=user["id"], pkce=pkce,
                redirect_to=redirect_to, lifetime=timedelta(seconds=config.otp_expiry_seconds),
            )  # fmt: skip
        issued = await otp.issue(
            conn, self.k.clock.now(), self.k.otp_key,
            user_id=user["id"], kind=kind, address=address,
            length=config.otp_length, lifetime_seconds=config.otp_expiry_seconds,
            flow_state_id=flow_id,
        )  # fmt: skip
        token = (otp.PKCE_PREFIX if pkce else "") + issued.token_hash
        action_link = self.verify_url(ctx.project, token, kind.link_type, redirect_to)
        return Link(issued.otp, issued.token_hash, action_link, kind.link_type, redirect_to)

    def verify_url(self, project: str, token: str, link_type: str, redirect_to: str) -> str:
        params = {"token": token, "type": link_type}
        if redirect_to:
            params["redirect_to"] = redirect_to
        return f"{self.k.auth_url(project)}/verify?{urlencode(params)}"

    async def send(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        user: Any,
        kind: otp.Kind,
        *,
        to: str,
        redirect_to: str | None,
        pkce: tuple[str, str] | None,
        new_email: str | None = None,
        guard: bool = True,
    ) -> Link:
        """Guard, issue, stamp ``kind.sent_at``, render and send (in the caller's transaction)."""
        config = await self.k.config(ctx)
        if guard:
            await self.guard(conn, config, user, kind)
        target = await self.redirect(ctx, config, redirect_to)
        link = await self.issue(
            ctx, conn, config, user, kind, address=to, redirect_to=target, pkce=pkce
        )
        if kind.sent_at is not None:
            await store.update_user(conn, user["id"], {kind.sent_at: self.k.clock.now()})
        await self.mail(ctx, config, user, kind, link, to=to, new_email=new_email)
        return link

    async def mail(
        self,
        ctx: RequestContext,
        config: AuthConfig,
        user: Any,
        kind: otp.Kind,
        link: Link,
        *,
        to: str,
        new_email: str | None = None,
    ) -> None:
        site_url, _ = await self.k.site_settings(ctx)
        has_link = kind is not otp.REAUTHENTICATION
        variables = {
            "confirmation_url": link.action_link if has_link else "",
            "token": link.otp,
            "token_hash": link.hashed_token,
            "site_url": site_url or "",
            "email": user["email"] or "",
            "new_email": new_email or "",
            "redirect_to": link.redirect_to,
            "data": user_data(user),
        }
        custom = next((t for k, t in config.email_templates.items() if k == kind.template), {})
        overrides = {locale: template.model_dump() for locale, template in custom.items()}
        rendered = mailtemplates.render(kind.template, user["locale"], variables, overrides)
        mail = Mail(
            to=to, subject=rendered.subject, text=rendered.text, html=rendered.html,
            link=link.action_link if has_link else None, code=link.otp,
        )  # fmt: skip
        await self.mailer.deliver(ctx.project, config.smtp, mail)


def user_data(user: Any) -> dict[str, Any]:
    data = json.loads(user["user_metadata"] or "{}")
    return data if isinstance(data, dict) else {}


async def set_email(conn: AsyncConnection, user: Any, email: str, now: datetime) -> None:
    """Make ``email`` the user's confirmed address (an email change that is complete, or an
    anonymous user adding one) and keep the email identity in step."""
    app_metadata = json.loads(user["app_metadata"])
    providers = list(app_metadata.get("providers") or [])
    if "email" not in providers:
        providers.append("email")
    app_metadata.update(provider=app_metadata.get("provider") or "email", providers=providers)
    changes = {
        "email": email,
        "new_email": None,
        "email_confirmed_at": now,
        "is_anonymous": False,
        "app_metadata": dumps(app_metadata),
        "updated_at": now,
    }
    try:
        await store.update_user(conn, user["id"], changes)
    except store.DuplicateKey:  # taken since the change was asked for
        raise EmailExists() from None
    identity_data = {"sub": user["id"], "email": email, "email_verified": True,
                     "phone_verified": False}  # fmt: skip
    identities = await store.select_identities(conn, [user["id"]])
    current = next((i for i in identities if i["provider"] == "email"), None)
    if current is not None:
        data = {**json.loads(current["identity_data"]), **identity_data}
        await store.update_identity(
            conn, current["id"], {"email": email, "identity_data": dumps(data), "updated_at": now}
        )
        return
    await store.insert_identity(
        conn,
        {"id": new_id(), "user_id": user["id"], "provider": "email", "provider_id": user["id"],
         "identity_data": dumps(identity_data), "email": email, "created_at": now,
         "updated_at": now},
    )  # fmt: skip


async def forget_unconfirmed_password(conn: AsyncConnection, user: Any, now: datetime) -> None:
    """Before a passwordless link (magic link, invite) confirms an address, drop a password
    that nobody proved to own it: whoever signed up with someone else's address must not
    keep a way in once the owner confirms it."""
    if user["email_confirmed_at"] is None and user["encrypted_password"] is not None:
        await store.update_user(conn, user["id"], {"encrypted_password": None, "updated_at": now})


async def confirm_email(conn: AsyncConnection, user: Any, now: datetime) -> bool:
    """Mark the user's address confirmed; False when it already was."""
    if user["email_confirmed_at"] is not None:
        return False
    await store.update_user(conn, user["id"], {"email_confirmed_at": now, "updated_at": now})
    for identity in await store.select_identities(conn, [user["id"]]):
        if identity["provider"] == "email":
            data = {**json.loads(identity["identity_data"]), "email_verified": True}
            await store.update_identity(
                conn, identity["id"], {"identity_data": dumps(data), "updated_at": now}
            )
    return True
