"""Recovery codes, apprun's addition to GoTrue's MFA: ten single-use codes that stand in for
the authenticator app when its device is lost.

- Made at aal2 (making a new set voids the old one) and shown once.
- Stored as HMAC-SHA256 under a key derived from the master secret, over the project, the user
  and the code: the table alone tells nothing, and a code is good for its own user only.
- A code is 12 base32 characters (60 bits), written ``xxxx-xxxx-xxxx``: guessing one of ten
  takes ~2^56 tries, so no attempt counter is needed on top of the request rate limits.
- Spending one raises the session to aal2 (amr ``recovery_code``), as a TOTP code does; the
  user then removes the lost factor and enrols a new one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import RequestContext
from apprun.modules.auth import mfastore, store
from apprun.modules.auth.errors import (
    InsufficientAalForRecoveryCodes,
    MfaVerificationFailed,
    ValidationFailed,
)
from apprun.modules.auth.kernel import AuthKernel
from apprun.modules.auth.schemas import Body, iso
from apprun.modules.auth.stepup import AAL2, StepUp, mfa_user

CODE_COUNT = 10
GROUPS = 3
GROUP_LENGTH = 4
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
METHOD = "recovery_code"


class RecoveryBody(Body):
    code: str | None = Field(None, max_length=256)


def new_code() -> str:
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS))
    return "-".join(groups)


def normalise(code: str) -> str:
    """What users type: any case, with or without the dashes and spaces."""
    return "".join(c for c in code.lower() if c not in "- \t")


class RecoveryCodes:
    """The signed-in user's recovery codes."""

    def __init__(self, kernel: AuthKernel, stepup: StepUp, hash_key: bytes) -> None:
        self.k = kernel
        self.stepup = stepup
        self._hash_key = hash_key

    def _hash(self, project: str, user_id: str, code: str) -> str:
        message = f"{project}/{user_id}/{normalise(code)}".encode()
        return hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()

    async def _require_aal2(self, conn: AsyncConnection, ctx: RequestContext, user_id: str) -> None:
        factors = await store.select_factors(conn, [user_id])
        if not any(f["status"] == "verified" for f in factors):
            raise InsufficientAalForRecoveryCodes()
        if await self.stepup.aal(conn, ctx) != AAL2:
            raise InsufficientAalForRecoveryCodes()

    async def generate(self, ctx: RequestContext) -> dict[str, Any]:
        """``POST /factors/recovery-codes`` → ``{codes, created_at}``; the old set is void."""
        user_id = mfa_user(ctx)
        codes = [new_code() for _ in range(CODE_COUNT)]
        now = self.k.clock.now()
        async with (await self.k.db(ctx)).tx() as conn:
            await self._require_aal2(conn, ctx, user_id)
            hashes = [self._hash(ctx.project, user_id, code) for code in codes]
            await mfastore.replace_recovery_codes(conn, user_id, hashes, now)
        await self.k.record(ctx, "auth.recovery_codes.generated", user_id, count=CODE_COUNT)
        return {"codes": codes, "created_at": iso(now)}

    async def status(self, ctx: RequestContext) -> dict[str, Any]:
        """``GET /factors/recovery-codes`` → how many codes are left (never the codes)."""
        user_id = mfa_user(ctx)
        async with (await self.k.db(ctx)).read() as conn:
            rows = await mfastore.select_recovery_codes(conn, user_id)
        return {
            "total": len(rows),
            "remaining": sum(1 for r in rows if r["used_at"] is None),
            "created_at": iso(min(r["created_at"] for r in rows)) if rows else None,
        }

    async def delete(self, ctx: RequestContext) -> dict[str, Any]:
        """``DELETE /factors/recovery-codes`` (aal2) → ``{}``."""
        user_id = mfa_user(ctx)
        async with (await self.k.db(ctx)).tx() as conn:
            await self._require_aal2(conn, ctx, user_id)
            await mfastore.delete_recovery_codes(conn, user_id)
        await self.k.record(ctx, "auth.recovery_codes.deleted", user_id)
        return {}

    async def redeem(self, ctx: RequestContext, body: RecoveryBody) -> dict[str, Any]:
        """``POST /factors/recovery`` ``{code}`` → a *Token response*, the session at aal2."""
        user_id = mfa_user(ctx)
        if not normalise(body.code or ""):
            raise ValidationFailed("Code needs to be non-empty", details={"field": "code"})
        code_hash = self._hash(ctx.project, user_id, body.code or "")
        now = self.k.clock.now()
        result: dict[str, Any] = {}
        async with (await self.k.db(ctx)).tx() as conn:
            used = await mfastore.use_recovery_code(conn, user_id, code_hash, now)
            if used:
                result = await self.stepup.raise_session(ctx, conn, user_id, METHOD, None)
        if not used:
            await self.k.record(ctx, "auth.recovery_code.refused", user_id)
            raise MfaVerificationFailed("Invalid or already used recovery code.")
        await self.k.record(ctx, "auth.recovery_code.used", user_id)
        return result
