"""``POST /verify`` (a code or a token hash → a session) and ``GET /verify`` (the link in a
mail → a 303 to the app: tokens in the fragment, ``?code=`` for PKCE, or an error).

Every failure — unknown, used, expired or mistyped token, a token for an address the user no
longer has — is the same 403 ``otp_expired``, so that nothing can be learnt by guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import RequestContext
from apprun.modules.auth import emailstore, hooks, otp, store
from apprun.modules.auth.emailbodies import VerifyBody
from apprun.modules.auth.emaillinks import confirm_email, set_email
from apprun.modules.auth.errors import (
    AuthError,
    OtpExpired,
    PhoneProviderDisabled,
    ValidationFailed,
    VerifyUserBanned,
)
from apprun.modules.auth.flows import Flows
from apprun.modules.auth.kernel import AuthKernel
from apprun.modules.auth.limits import AuthLimits
from apprun.modules.auth.signin import SignIn, is_banned
from apprun.modules.auth.validation import normalise_email, safe_redirect

PENDING_MESSAGE = (
    "Confirmation link accepted. Please proceed to confirm link sent to the other email"
)
LINK_EXPIRED = "Email link is invalid or has expired"
OAUTH_ERRORS = {400: "invalid_request", 401: "unauthorized_client", 403: "access_denied"}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a consumed token did."""

    user_id: str
    email: str | None
    flow_state_id: str | None
    confirmed: bool = False
    """The address was confirmed just now."""
    email_changed: bool = False
    pending: bool = False
    """First half of a secure email change: the other address has yet to confirm."""


class Verification:
    """Consumes one-time tokens: confirms addresses, signs in, completes email changes."""

    def __init__(
        self, kernel: AuthKernel, signin: SignIn, flows: Flows, limits: AuthLimits
    ) -> None:
        self.k = kernel
        self.signin = signin
        self.flows = flows
        self.limits = limits

    async def verify(self, ctx: RequestContext, body: VerifyBody) -> dict[str, Any]:
        """POST /verify → a *Token response* (amr ``otp``), or the secure email change's
        first-half message."""
        account = body.email.strip().lower() if body.email else None
        await self.limits.check(ctx, "verify", account=account)
        verify_type, hashed = self._target(body)
        try:
            async with (await self.k.db(ctx)).tx() as conn:
                outcome = await self._consume(conn, verify_type, hashed)
                result = await self._result(ctx, conn, outcome)
        except OtpExpired:
            if account:  # a wrong code for this address: its next guesses wait longer
                await self.limits.failed(ctx, "verify", account=account)
            raise
        if account:
            await self.limits.succeeded(ctx, "verify", account=account)
        await self._announce(ctx, outcome, signed_in=not outcome.pending)
        return result

    async def _result(
        self, ctx: RequestContext, conn: AsyncConnection, outcome: Outcome
    ) -> dict[str, Any]:
        if outcome.pending:
            return {"msg": PENDING_MESSAGE, "code": "200"}
        return await self.signin.open_session(ctx, conn, outcome.user_id, "otp")

    def _target(self, body: VerifyBody) -> tuple[str, str]:
        """(verification type, token hash) of a POST /verify body."""
        if body.type in ("sms", "phone_change") or (body.phone and not body.email):
            raise PhoneProviderDisabled()
        if body.type not in otp.VERIFY_TYPES:
            raise ValidationFailed(
                "Verify requires a verification type: " + ", ".join(otp.VERIFY_TYPES),
                details={"field": "type"},
            )
        if body.token_hash:
            return body.type, body.token_hash.strip()
        if not body.token:
            raise ValidationFailed(
                "Verify requires either a token or a token hash", details={"field": "token"}
            )
        if not body.email:
            raise ValidationFailed(
                "Verify requires the email address the code was sent to",
                details={"field": "email"},
            )
        return body.type, otp.token_hash(
            self.k.otp_key, normalise_email(body.email), body.token.strip()
        )

    async def verify_link(
        self, ctx: RequestContext, token: str, link_type: str, redirect_to: str | None
    ) -> str:
        """GET /verify → where to send the browser (303)."""
        config = await self.k.config(ctx)
        site_url, _ = await self.k.site_settings(ctx)
        # The query can be edited by anyone: the target is checked again, not trusted.
        target = safe_redirect(redirect_to, site_url, config.uri_allow_list) or (
            self.k.public_url + "/"
        )
        pkce = token.startswith(otp.PKCE_PREFIX)
        signed_in = False
        try:
            await self.limits.check(ctx, "verify")
            if link_type not in otp.VERIFY_TYPES or not token:
                raise ValidationFailed("The link's type or token is missing.")
            async with (await self.k.db(ctx)).tx() as conn:
                outcome = await self._consume(conn, link_type, token)
                if outcome.pending:
                    url = with_fragment(target, {"message": PENDING_MESSAGE, "sb": ""})
                elif pkce and outcome.flow_state_id is not None:
                    code = await self.flows.issue_code(conn, outcome.flow_state_id, outcome.user_id)
                    url = with_query(target, {"code": code})
                else:
                    session = await self.signin.open_session(ctx, conn, outcome.user_id, "otp")
                    url = with_fragment(target, session_fragment(session, link_type))
                    signed_in = True
        except AuthError as error:
            return error_url(target, error, pkce)
        await self._announce(ctx, outcome, signed_in=signed_in)
        return url

    async def _consume(self, conn: AsyncConnection, verify_type: str, hashed: str) -> Outcome:
        now = self.k.clock.now()
        row = await otp.find(conn, now, hashed, otp.VERIFY_TYPES[verify_type])
        user = await store.select_user(conn, row["user_id"]) if row is not None else None
        if row is None or user is None:
            raise OtpExpired()
        if is_banned(user, now):
            raise VerifyUserBanned()
        if row["token_type"] in otp.EMAIL_CHANGE_TYPES:
            return await self._change_email(conn, user, row, now)
        # A link mailed to an address the user has since left opens nothing.
        if row["relates_to"] != user["email"] or not await otp.consume(conn, row):
            raise OtpExpired()
        confirmed = await confirm_email(conn, user, now)
        return Outcome(user["id"], user["email"], row["flow_state_id"], confirmed=confirmed)

    async def _change_email(
        self, conn: AsyncConnection, user: Any, row: Any, now: datetime
    ) -> Outcome:
        new_email = user["new_email"]
        expected = (
            new_email if row["token_type"] == otp.EMAIL_CHANGE_NEW.token_type else user["email"]
        )
        if not new_email or row["relates_to"] != expected or not await otp.consume(conn, row):
            raise OtpExpired()
        others = await emailstore.select_user_tokens(conn, user["id"], otp.EMAIL_CHANGE_TYPES)
        if others:  # secure email change: the other address has not confirmed yet
            return Outcome(user["id"], user["email"], row["flow_state_id"], pending=True)
        await set_email(conn, user, new_email, now)
        return Outcome(user["id"], new_email, row["flow_state_id"], email_changed=True)

    async def _announce(self, ctx: RequestContext, outcome: Outcome, *, signed_in: bool) -> None:
        event = hooks.UserEvent(outcome.user_id, outcome.email, "otp")
        if outcome.confirmed:
            await self.k.emit(ctx, hooks.USER_CONFIRMED, event)
            await self.k.record(ctx, "auth.user.confirmed", outcome.user_id)
        if outcome.email_changed:
            await self.k.emit(ctx, hooks.USER_UPDATED, event)
            await self.k.record(ctx, "auth.user.email_changed", outcome.user_id)
        if signed_in:
            await self.k.emit(ctx, hooks.USER_SIGNED_IN, event)
            await self.k.record(ctx, "auth.user.signed_in", outcome.user_id, method="otp")


def session_fragment(session: dict[str, Any], link_type: str) -> dict[str, Any]:
    return {
        "access_token": session["access_token"],
        "expires_at": session["expires_at"],
        "expires_in": session["expires_in"],
        "refresh_token": session["refresh_token"],
        "token_type": "bearer",
        "type": link_type,
        "sb": "",
    }


def error_url(target: str, error: AuthError, pkce: bool) -> str:
    """GoTrue's failed redirect: the error in the fragment (and the query, for PKCE)."""
    message = LINK_EXPIRED if isinstance(error, OtpExpired) else error.detail_message
    params = {
        "error": OAUTH_ERRORS.get(error.status, "server_error"),
        "error_code": error.error_code,
        "error_description": message,
    }
    url = with_query(target, params) if pkce else target
    return with_fragment(url, {**params, "sb": ""})


def with_fragment(url: str, params: dict[str, Any]) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=urlencode(params)))


def with_query(url: str, params: dict[str, Any]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))
