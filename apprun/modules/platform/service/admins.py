"""Platform administrators: accounts, sign-in with rate limiting, admin bearer tokens."""

from __future__ import annotations

from typing import Any

import anyio

from apprun.core.clock import Clock
from apprun.core.context import Principal, RequestContext, Role
from apprun.core.errors import InvalidToken, RateLimited
from apprun.core.hooks import Hooks
from apprun.core.ids import new_id
from apprun.core.ratelimit import RateLimiter
from apprun.core.tenancy import Tenancy
from apprun.lib import jwt
from apprun.lib.passwords import hash_password, verify_password
from apprun.modules.platform import hooks, store
from apprun.modules.platform.errors import AdminExists, InvalidCredentials
from apprun.modules.platform.schemas import Admin, AdminCreate, TokenRequest, TokenResponse
from apprun.modules.platform.service.audit import AuditLog

ADMIN_AUDIENCE = "apprun:admin"
ISSUER = "apprun"


class AdminService:
    def __init__(
        self,
        tenancy: Tenancy,
        hooks_bus: Hooks,
        audit: AuditLog,
        clock: Clock,
        token_key: bytes,
        token_ttl: int,
        limiter: RateLimiter,
        login_per_minute: int,
    ) -> None:
        self._tenancy = tenancy
        self._hooks = hooks_bus
        self._audit = audit
        self._clock = clock
        self._token_key = token_key
        self._token_ttl = token_ttl
        self._limiter = limiter
        self._login_per_minute = login_per_minute

    async def create_admin(self, ctx: RequestContext, data: AdminCreate) -> Admin:
        email = data.email.strip().lower()
        password_hash = await anyio.to_thread.run_sync(hash_password, data.password)
        values: dict[str, Any] = {
            "id": new_id(),
            "email": email,
            "password_hash": password_hash,
            "created_at": self._clock.now(),
            "last_login_at": None,
        }
        async with self._tenancy.control.tx() as conn:
            try:
                await store.insert_admin(conn, values)
            except store.DuplicateKey:
                raise AdminExists(details={"field": "email"}) from None
            await self._audit.append(conn, ctx, "admin.created", email)
        await self._hooks.emit(hooks.ADMIN_CREATED, hooks.AdminEvent(values["id"], email))
        return Admin.model_validate(values)

    async def count_admins(self) -> int:
        async with self._tenancy.control.read() as conn:
            return await store.count_admins(conn)

    async def sign_in(self, ctx: RequestContext, data: TokenRequest) -> TokenResponse:
        """Check the password (one hash whether or not the email exists) and issue a token."""
        email = data.email.strip().lower()
        await self._check_login_rate(ctx, email)
        async with self._tenancy.control.read() as conn:
            row = await store.select_admin_by_email(conn, email)
        password_hash = row["password_hash"] if row is not None else None
        ok = await anyio.to_thread.run_sync(verify_password, password_hash, data.password)
        if row is None or not ok:
            await self._audit.record(ctx, "admin.login_failed", email)
            raise InvalidCredentials()
        now = self._clock.now()
        async with self._tenancy.control.tx() as conn:
            await store.touch_admin_login(conn, row["id"], now)
            signed_in = RequestContext(
                project=ctx.project,
                principal=Principal(Role.PLATFORM_ADMIN, row["id"], email, key_verified=True),
                request_id=ctx.request_id,
                client_ip=ctx.client_ip,
            )
            await self._audit.append(conn, signed_in, "admin.login", email)
        await self._hooks.emit(hooks.ADMIN_SIGNED_IN, hooks.AdminEvent(row["id"], email))
        iat = int(now.timestamp())
        claims = {
            "iss": ISSUER,
            "aud": ADMIN_AUDIENCE,
            "sub": row["id"],
            "email": email,
            "role": Role.PLATFORM_ADMIN.value,
            "iat": iat,
            "exp": iat + self._token_ttl,
            "jti": new_id(),
        }
        return TokenResponse(
            access_token=jwt.encode_hs256(claims, self._token_key),
            expires_in=self._token_ttl,
        )

    async def _check_login_rate(self, ctx: RequestContext, email: str) -> None:
        per_minute = self._login_per_minute
        for key, limit in (
            (f"login:{ctx.client_ip}:{email}", per_minute),
            (f"login:{ctx.client_ip}", per_minute * 3),
        ):
            decision = await self._limiter.hit(key, limit / 60.0, limit)
            if not decision.allowed:
                retry = max(1, round(decision.retry_after))
                raise RateLimited(
                    details={"retry_after": retry}, headers={"Retry-After": str(retry)}
                )

    @staticmethod
    def is_admin_token(token: str) -> bool:
        try:
            _, claims = jwt.peek(token)
        except jwt.TokenInvalid:
            return False
        return claims.get("aud") == ADMIN_AUDIENCE

    async def verify_token(self, token: str) -> Principal:
        """An admin bearer token → its Principal; the admin must still exist."""
        try:
            claims = jwt.decode_hs256(
                token,
                self._token_key,
                int(self._clock.now().timestamp()),
                iss=ISSUER,
                aud=ADMIN_AUDIENCE,
            )
        except jwt.TokenExpired:
            raise InvalidToken("The administrator token has expired; sign in again.") from None
        except jwt.TokenInvalid:
            raise InvalidToken() from None
        async with self._tenancy.control.read() as conn:
            row = await store.select_admin(conn, str(claims.get("sub")))
        if row is None:
            raise InvalidToken("The administrator no longer exists.")
        return Principal(Role.PLATFORM_ADMIN, row["id"], row["email"], key_verified=True)
