"""Sessions, access tokens and refresh tokens.

- An access token is a JWT signed with the project's key (``keys.py``), bound to a session.
- A refresh token is 256 random bits, stored as its SHA-256, rotated on every use. A token used
  again within the reuse interval (two tabs refreshing at once) gets a sibling; used again
  later, it ends the whole session (a stolen token is worth nothing once its owner refreshes).
- Sessions end by logout, ban, password change, admin sign-out, their absolute lifetime or
  inactivity. Access tokens die with their session: ``check_session`` is asked on every
  request and answered from a cache of live sessions: per process for
  ``SESSION_CACHE_SECONDS`` (other workers notice an ended session within that time), or in
  Redis when configured, where ending a session is seen by every instance at once.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.cache import MarkerCache
from apprun.core.clock import Clock
from apprun.core.db import Database
from apprun.core.ids import new_id
from apprun.lib.crypto import sha256_hex
from apprun.modules.auth import store
from apprun.modules.auth.config import AuthConfig
from apprun.modules.auth.errors import (
    RefreshTokenAlreadyUsed,
    RefreshTokenNotFound,
    SessionExpired,
    ValidationFailed,
)
from apprun.modules.auth.keys import SigningKeys

SESSION_CACHE_SECONDS = 2.0
DEFAULT_PROJECT = "default"
MIN_REFRESH_TOKEN_LENGTH = 12


@dataclass(frozen=True, slots=True)
class Issued:
    """A new access token and refresh token for one session."""

    access_token: str
    refresh_token: str
    expires_in: int
    expires_at: int
    session_id: str


@dataclass(frozen=True, slots=True)
class Refreshed:
    user_id: str
    session_id: str


def auth_url(public_url: str, project: str) -> str:
    """The base URL of a project's /auth/v1 (the default project needs no prefix)."""
    prefix = "" if project == DEFAULT_PROJECT else f"/p/{project}"
    return f"{public_url}{prefix}/auth/v1"


def amr_entry(method: str, at: datetime) -> dict[str, Any]:
    return {"method": method, "timestamp": int(at.timestamp())}


class Sessions:
    def __init__(
        self,
        clock: Clock,
        keys: SigningKeys,
        public_url: str,
        cache: MarkerCache,
        cache_seconds: float = SESSION_CACHE_SECONDS,
    ) -> None:
        self._clock = clock
        self._keys = keys
        self._public_url = public_url.rstrip("/")
        self._cache = cache
        self._cache_seconds = cache_seconds

    def issuer(self, project: str) -> str:
        """``<public url>[/p/<project>]/auth/v1``: the project's auth URL, as Supabase's."""
        return auth_url(self._public_url, project)

    async def start(
        self,
        conn: AsyncConnection,
        config: AuthConfig,
        user_id: str,
        method: str,
        *,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> tuple[str, str]:
        """Open a session (aal1) inside the caller's transaction; → (session id, refresh token)."""
        now = self._clock.now()
        session_id = new_id()
        await store.insert_session(
            conn,
            {
                "id": session_id,
                "user_id": user_id,
                "aal": "aal1",
                "amr": json.dumps([amr_entry(method, now)]),
                "user_agent": user_agent[:512] if user_agent else None,
                "ip": ip,
                "created_at": now,
                "refreshed_at": now,
                "not_after": now + timedelta(seconds=config.session_timebox_seconds),
            },
        )
        return session_id, await self.new_refresh_token(conn, session_id)

    async def new_refresh_token(self, conn: AsyncConnection, session_id: str) -> str:
        token = secrets.token_urlsafe(32)
        await store.insert_refresh_token(
            conn, sha256_hex(token.encode()), session_id, self._clock.now()
        )
        return token

    async def access_token(
        self,
        db: Database,
        project: str,
        user: dict[str, Any],
        session: Any,
        expiry: int,
    ) -> tuple[str, int]:
        """Sign the access token of ``user`` (a rendered *User*) in ``session``."""
        now = int(self._clock.now().timestamp())
        amr = json.loads(session["amr"])
        claims = {
            "iss": self.issuer(project),
            "sub": user["id"],
            "aud": "authenticated",
            "exp": now + expiry,
            "iat": now,
            "email": user["email"],
            "phone": user["phone"],
            "app_metadata": user["app_metadata"],
            "user_metadata": user["user_metadata"],
            "role": "authenticated",
            "aal": session["aal"],
            "amr": sorted(amr, key=lambda e: -e["timestamp"]),
            "session_id": session["id"],
            "is_anonymous": user["is_anonymous"],
            "ref": project,
        }
        return await self._keys.sign(db, project, claims), now + expiry

    async def refresh(
        self, conn: AsyncConnection, config: AuthConfig, token: str
    ) -> tuple[Refreshed, str]:
        """Rotate ``token``: → the session and its new refresh token; reuse ends the session."""
        if len(token) < MIN_REFRESH_TOKEN_LENGTH:
            raise ValidationFailed(
                "Refresh token is not valid.", details={"field": "refresh_token"}
            )
        now = self._clock.now()
        row = await store.select_refresh_token(conn, sha256_hex(token.encode()))
        if row is None:
            raise RefreshTokenNotFound()
        session = await store.select_session(conn, row["session_id"])
        if session is None:
            raise RefreshTokenNotFound()
        if now >= session["not_after"] or now - session["refreshed_at"] >= timedelta(
            seconds=config.session_inactivity_timeout_seconds
        ):
            await self.end(conn, session["user_id"], only=session["id"])
            raise SessionExpired()
        if row["revoked"] or not await store.revoke_refresh_token(conn, row["id"], now):
            used_at = row["revoked_at"] or now
            if now - used_at > timedelta(seconds=config.refresh_token_reuse_interval):
                await self.end(conn, session["user_id"], only=session["id"])
                raise RefreshTokenAlreadyUsed(details={"session_id": session["id"]})
        await store.update_session(conn, session["id"], {"refreshed_at": now})
        return Refreshed(session["user_id"], session["id"]), await self.new_refresh_token(
            conn, session["id"]
        )

    async def end(
        self,
        conn: AsyncConnection,
        user_id: str,
        *,
        only: str | None = None,
        keep: str | None = None,
        aal: str | None = None,
    ) -> list[str]:
        """End sessions inside the caller's transaction; they are forgotten by the cache at
        once (a refusal a moment early, should the transaction roll back, is harmless)."""
        ended = await store.delete_sessions(conn, user_id, only=only, keep=keep, aal=aal)
        await self._cache.delete(*(f"session:{session_id}" for session_id in ended))
        return ended

    async def check_session(self, db: Database, project: str, session_id: str) -> bool:
        """Whether the session still exists and has not timed out (cached briefly)."""
        key = f"session:{session_id}"
        if await self._cache.has(key):
            return True
        async with db.read() as conn:
            session = await store.select_session(conn, session_id)
        if session is None or self._clock.now() >= session["not_after"]:
            return False
        await self._cache.put(key, self._cache_seconds)
        return True
