"""PKCE flow states: an email link or an OAuth sign-in started with a ``code_challenge`` ends
with an auth code (``?code=``) that the client exchanges with its ``code_verifier``
(``POST /token?grant_type=pkce``) — single use, within five minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import RequestContext
from apprun.core.ids import new_id
from apprun.lib.crypto import sha256_hex
from apprun.modules.auth import flowstore, hooks, store
from apprun.modules.auth.errors import (
    BadCodeVerifier,
    FlowStateExpired,
    FlowStateNotFound,
    UserBanned,
    ValidationFailed,
)
from apprun.modules.auth.kernel import AuthKernel
from apprun.modules.auth.schemas import PkceGrant
from apprun.modules.auth.signin import SignIn, is_banned

FLOW_LIFETIME = timedelta(minutes=5)
"""How long an auth code may wait for its exchange (GoTrue's default)."""
OAUTH_FLOW_LIFETIME = timedelta(minutes=10)
"""How long a user may take at the provider before the callback."""


def challenge_of(verifier: str, method: str) -> str:
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Flows:
    def __init__(self, kernel: AuthKernel, signin: SignIn) -> None:
        self.k = kernel
        self.signin = signin

    async def start(
        self,
        conn: AsyncConnection,
        *,
        provider: str,
        method: str,
        user_id: str | None,
        pkce: tuple[str, str] | None,
        redirect_to: str | None,
        data: dict[str, Any] | None = None,
        lifetime: timedelta = OAUTH_FLOW_LIFETIME,
    ) -> str:
        """Record a flow (inside the caller's transaction); → its id (OAuth's ``state``)."""
        now = self.k.clock.now()
        flow_id = new_id()
        await flowstore.delete_flows_expired_before(conn, now - timedelta(hours=1))
        await flowstore.insert_flow(
            conn,
            {
                "id": flow_id,
                "user_id": user_id,
                "provider": provider,
                "authentication_method": method,
                "code_challenge": pkce[0] if pkce else None,
                "code_challenge_method": pkce[1] if pkce else None,
                "redirect_to": redirect_to,
                "data": json.dumps(data or {}),
                "created_at": now,
                "expires_at": now + lifetime,
            },
        )
        return flow_id

    async def issue_code(self, conn: AsyncConnection, flow_id: str, user_id: str) -> str:
        """The flow's user is known and verified: → the auth code the client exchanges."""
        code = secrets.token_urlsafe(32)
        now = self.k.clock.now()
        await flowstore.update_flow(
            conn,
            flow_id,
            {
                "user_id": user_id,
                "auth_code_hash": sha256_hex(code.encode()),
                "expires_at": now + FLOW_LIFETIME,
            },
        )
        return code

    async def exchange(self, ctx: RequestContext, body: PkceGrant) -> dict[str, Any]:
        """``grant_type=pkce``: the auth code and its verifier → a session."""
        if not body.auth_code or not body.code_verifier:
            raise ValidationFailed(
                "invalid request: both auth code and code verifier should be non-empty",
                details={"field": "auth_code" if not body.auth_code else "code_verifier"},
            )
        now = self.k.clock.now()
        async with (await self.k.db(ctx)).tx() as conn:
            flow = await flowstore.select_flow_by_code(conn, sha256_hex(body.auth_code.encode()))
            if flow is None or flow["used_at"] is not None or flow["user_id"] is None:
                raise FlowStateNotFound()
            if now >= flow["expires_at"]:
                raise FlowStateExpired()
            expected = flow["code_challenge"] or ""
            method = flow["code_challenge_method"] or "s256"
            if not hmac.compare_digest(challenge_of(body.code_verifier, method), expected):
                raise BadCodeVerifier()
            if not await flowstore.mark_flow_used(conn, flow["id"], now):
                raise FlowStateNotFound()
            user = await store.select_user(conn, flow["user_id"])
            if user is None:
                raise FlowStateNotFound()
            if is_banned(user, now):
                raise UserBanned()
            result = await self.signin.open_session(
                ctx, conn, user["id"], flow["authentication_method"]
            )
            extra = json.loads(flow["data"])
        for name in ("provider_token", "provider_refresh_token"):
            if extra.get(name):
                result[name] = extra[name]
        await self.k.emit(
            ctx,
            hooks.USER_SIGNED_IN,
            hooks.UserEvent(user["id"], user["email"], flow["authentication_method"]),
        )
        return result
