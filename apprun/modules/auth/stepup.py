"""A session's authenticator assurance level: raised to aal2 by a second factor (a TOTP code
or a recovery code), lowered back to aal1 when the factor that raised it goes away."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import RequestContext
from apprun.modules.auth import mfastore, store
from apprun.modules.auth.account import signed_in
from apprun.modules.auth.errors import MfaAnonymousUser, SessionNotFound
from apprun.modules.auth.kernel import AuthKernel, dumps
from apprun.modules.auth.sessions import amr_entry

AAL1 = "aal1"
AAL2 = "aal2"
SECOND_FACTOR_METHODS = frozenset({"totp", "recovery_code"})


def mfa_user(ctx: RequestContext) -> str:
    """The signed-in, non-anonymous user (GoTrue refuses MFA to anonymous users with 403)."""
    user_id = signed_in(ctx)
    if ctx.principal.claims.get("is_anonymous") is True:
        raise MfaAnonymousUser()
    return user_id


def session_of(ctx: RequestContext) -> str:
    return str(ctx.principal.claims.get("session_id", ""))


class StepUp:
    """Reads and changes the assurance level of the caller's session."""

    def __init__(self, kernel: AuthKernel) -> None:
        self.k = kernel

    async def aal(self, conn: AsyncConnection, ctx: RequestContext) -> str:
        """aal2 only if the access token says so *and* its session still is: a factor removed
        elsewhere has lowered the session, while the token keeps its claim until it expires."""
        if ctx.principal.aal != AAL2:
            return AAL1
        session = await store.select_session(conn, session_of(ctx))
        return AAL2 if session is not None and session["aal"] == AAL2 else AAL1

    async def raise_session(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        user_id: str,
        method: str,
        factor_id: str | None,
    ) -> dict[str, Any]:
        """Raise the caller's session to aal2 (inside the caller's transaction) → a *Token
        response* for that same session, with a new refresh token."""
        session_id = session_of(ctx)
        session = await store.select_session(conn, session_id)
        if session is None or session["user_id"] != user_id:
            raise SessionNotFound()
        now = self.k.clock.now()
        # Newest first, so that the token's (stable) newest-first order holds within a second.
        older = [e for e in json.loads(session["amr"]) if e.get("method") != method]
        amr = [amr_entry(method, now), *older]
        changes = {"aal": AAL2, "amr": dumps(amr), "factor_id": factor_id, "refreshed_at": now}
        await store.update_session(conn, session_id, changes)
        # As GoTrue swaps the refresh token: the one the client held at aal1 is spent.
        await store.revoke_session_tokens(conn, session_id, now)
        refresh_token = await self.k.sessions.new_refresh_token(conn, session_id)
        # Sessions opened with the first factor alone (perhaps by whoever stole the password)
        # end once the user proves the second one.
        await self.k.sessions.end(conn, user_id, keep=session_id, aal=AAL1)
        return await self.k.token_response(ctx, conn, user_id, session_id, refresh_token)

    async def lower_sessions(
        self, conn: AsyncConnection, user_id: str, factor_id: str, *, factors_left: bool
    ) -> None:
        """After ``factor_id`` was removed: its sessions go back to aal1, and every aal2 session
        of the user when no verified factor is left (recovery codes went with the last one).
        Their next refresh yields aal1 tokens, as GoTrue's ``DowngradeSessionsToAAL1``."""
        for session in await mfastore.select_aal2_sessions(conn, user_id):
            if factors_left and session["factor_id"] != factor_id:
                continue
            amr = [
                e
                for e in json.loads(session["amr"])
                if e.get("method") not in SECOND_FACTOR_METHODS
            ]
            await store.update_session(
                conn, session["id"], {"aal": AAL1, "amr": dumps(amr), "factor_id": None}
            )
