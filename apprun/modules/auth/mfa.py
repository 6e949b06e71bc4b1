"""MFA with TOTP, as GoTrue's ``/factors`` endpoints: enroll a factor, challenge it, verify a
code (which raises the session to aal2), unenroll; and the admin's list and delete.

- The TOTP secret is sealed at rest (AES-GCM, bound to the project and the factor id).
- A code is good once: the factor remembers its last used time step, and a code of that step
  or an earlier one is refused (RFC 6238 §5.2). One step of drift either way is accepted.
- Guessing is bounded in the database, so the limits hold across workers: a challenge dies
  after ``MAX_ATTEMPTS`` wrong codes, and a factor refuses codes (429) once its challenges of
  the last ``LIMIT_WINDOW`` have collected ``MAX_FAILURES`` wrong ones, or new challenges past
  ``MAX_CHALLENGES``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import RequestContext
from apprun.core.ids import new_id
from apprun.lib.crypto import seal, unseal
from apprun.modules.auth import hooks, mfastore, store, totp
from apprun.modules.auth.errors import (
    InsufficientAalToEnroll,
    InsufficientAalToUnenroll,
    InvalidUserId,
    MfaChallengeExpired,
    MfaChallengeNotFound,
    MfaFactorNameConflict,
    MfaFactorNotFound,
    MfaIpAddressMismatch,
    MfaPhoneEnrollDisabled,
    MfaVerificationFailed,
    MfaWebauthnEnrollDisabled,
    RateLimitedRequests,
    SessionNotFound,
    TooManyFactors,
    UserNotFound,
    ValidationFailed,
)
from apprun.modules.auth.kernel import AuthKernel
from apprun.modules.auth.schemas import Body, render_factor
from apprun.modules.auth.stepup import AAL2, StepUp, mfa_user, session_of

CHALLENGE_LIFETIME = timedelta(minutes=5)
UNVERIFIED_LIFETIME = timedelta(minutes=5)
"""An enrolment not verified this long gives way to the next one (GoTrue's factor expiry)."""
MAX_ATTEMPTS = 5
LIMIT_WINDOW = timedelta(minutes=15)
MAX_FAILURES = 15
MAX_CHALLENGES = 30
CHALLENGE_RETENTION = timedelta(days=1)
MAX_NAME_LENGTH = 200
MAX_ISSUER_LENGTH = 200


class EnrollBody(Body):
    factor_type: str | None = Field(None, max_length=32)
    friendly_name: str | None = Field(None, max_length=4096)
    issuer: str | None = Field(None, max_length=4096)
    phone: str | None = Field(None, max_length=64)


class ChallengeBody(Body):
    channel: str | None = Field(None, max_length=32)


class VerifyBody(Body):
    challenge_id: str | None = Field(None, max_length=64)
    code: str | None = Field(None, max_length=256)


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class Mfa:
    """TOTP factors of the signed-in user, and the admin's view of every user's."""

    def __init__(self, kernel: AuthKernel, stepup: StepUp, seal_key: bytes) -> None:
        self.k = kernel
        self.stepup = stepup
        self._seal_key = seal_key

    def _sealed(self, project: str, factor_id: str, secret: str) -> str:
        return seal(self._seal_key, secret.encode(), f"{project}/{factor_id}".encode())

    def _unsealed(self, project: str, factor_id: str, sealed: str) -> str:
        return unseal(self._seal_key, sealed, f"{project}/{factor_id}".encode()).decode()

    async def enroll(self, ctx: RequestContext, body: EnrollBody) -> dict[str, Any]:
        """``POST /factors``: a new, unverified TOTP factor with its secret and QR code."""
        user_id = mfa_user(ctx)
        name, issuer = await self._enrol_fields(ctx, body)
        secret, factor_id, now = totp.new_secret(), new_id(), self.k.clock.now()
        async with (await self.k.db(ctx)).tx() as conn:
            user = await store.select_user(conn, user_id)
            if user is None:
                raise SessionNotFound()
            await self._make_room(ctx, conn, user_id, name, now)
            row = {"id": factor_id, "user_id": user_id, "friendly_name": name,
                   "factor_type": "totp", "status": "unverified",
                   "secret": self._sealed(ctx.project, factor_id, secret),
                   "created_at": now, "updated_at": now}  # fmt: skip
            try:
                await mfastore.insert_factor(conn, row)
            except mfastore.FactorNameTaken:  # a concurrent enrolment took the name
                raise MfaFactorNameConflict() from None
        uri = totp.provisioning_uri(secret, issuer, user["email"] or user["phone"] or user_id)
        await self.k.emit(ctx, hooks.FACTOR_ENROLLED, hooks.UserEvent(user_id, method="totp"))
        await self.k.record(ctx, "auth.factor.enrolled", user_id, factor_id=factor_id)
        return {
            "id": factor_id,
            "type": "totp",
            "friendly_name": name,
            "totp": {"qr_code": totp.qr_svg(uri), "secret": secret, "uri": uri},
        }

    async def _enrol_fields(self, ctx: RequestContext, body: EnrollBody) -> tuple[str, str]:
        if body.factor_type == "phone":
            raise MfaPhoneEnrollDisabled()
        if body.factor_type == "webauthn":
            raise MfaWebauthnEnrollDisabled()
        if body.factor_type != "totp":
            raise ValidationFailed(
                "factor_type needs to be totp, phone, or webauthn",
                details={"field": "factor_type"},
            )
        name = body.friendly_name or ""
        if len(name) > MAX_NAME_LENGTH:
            raise ValidationFailed(
                f"friendly_name can be at most {MAX_NAME_LENGTH} characters.",
                details={"field": "friendly_name"},
            )
        issuer = body.issuer or await self._default_issuer(ctx)
        if len(issuer) > MAX_ISSUER_LENGTH:
            raise ValidationFailed(
                f"issuer can be at most {MAX_ISSUER_LENGTH} characters.",
                details={"field": "issuer"},
            )
        return name, issuer

    async def _default_issuer(self, ctx: RequestContext) -> str:
        """The site URL's host (GoTrue's default), else the server's public host."""
        site_url, _ = await self.k.site_settings(ctx)
        return urlsplit(site_url or "").netloc or urlsplit(self.k.public_url).netloc or "apprun"

    async def _make_room(
        self, ctx: RequestContext, conn: AsyncConnection, user_id: str, name: str, now: datetime
    ) -> None:
        """GoTrue's checks before an enrolment. An unverified factor of the same name, or one
        abandoned for ``UNVERIFIED_LIFETIME``, is replaced: enrolling again after closing the
        QR code page must work, and the unique (user, name) index allows one name once."""
        factors = await store.select_factors(conn, [user_id])
        stale = [
            f["id"]
            for f in factors
            if f["status"] == "unverified"
            and (f["friendly_name"] == name or f["created_at"] <= now - UNVERIFIED_LIFETIME)
        ]
        kept = [f for f in factors if f["id"] not in stale]
        if any(f["friendly_name"] == name for f in kept):
            raise MfaFactorNameConflict(
                f"A factor with the friendly name {name!r} for this user already exists."
            )
        if len(kept) >= (await self.k.config(ctx)).mfa_max_enrolled_factors:
            raise TooManyFactors()
        verified = any(f["status"] == "verified" for f in kept)
        if verified and await self.stepup.aal(conn, ctx) != AAL2:
            raise InsufficientAalToEnroll()
        await mfastore.delete_factors(conn, stale)

    async def _own_factor(self, conn: AsyncConnection, user_id: str, factor_id: str) -> Any:
        factor = await mfastore.select_factor(conn, factor_id) if is_uuid(factor_id) else None
        if factor is None or factor["user_id"] != user_id:
            raise MfaFactorNotFound()  # another user's factor is not found either
        return factor

    async def challenge(
        self, ctx: RequestContext, factor_id: str, body: ChallengeBody
    ) -> dict[str, Any]:
        """``POST /factors/{id}/challenge`` → ``{id, type, expires_at}``."""
        user_id = mfa_user(ctx)
        del body  # TOTP needs no channel; the body is parsed only to refuse malformed JSON
        now = self.k.clock.now()
        challenge_id = new_id()
        async with (await self.k.db(ctx)).tx() as conn:
            factor = await self._own_factor(conn, user_id, factor_id)
            recent = await mfastore.count_challenges_since(conn, factor_id, now - LIMIT_WINDOW)
            if recent >= MAX_CHALLENGES:
                raise RateLimitedRequests("Too many MFA challenges: wait a few minutes.")
            await mfastore.delete_challenges_before(conn, factor_id, now - CHALLENGE_RETENTION)
            await mfastore.insert_challenge(
                conn,
                {"id": challenge_id, "factor_id": factor_id, "ip": ctx.client_ip,
                 "attempts": 0, "created_at": now},
            )  # fmt: skip
        return {
            "id": challenge_id,
            "type": factor["factor_type"],
            "expires_at": int((now + CHALLENGE_LIFETIME).timestamp()),
        }

    async def verify(self, ctx: RequestContext, factor_id: str, body: VerifyBody) -> dict[str, Any]:
        """``POST /factors/{id}/verify`` → a *Token response* for the same session at aal2."""
        user_id = mfa_user(ctx)
        code = (body.code or "").strip()
        if not code:
            raise ValidationFailed("Code needs to be non-empty", details={"field": "code"})
        if not body.challenge_id:
            raise ValidationFailed("challenge_id is required", details={"field": "challenge_id"})
        now = self.k.clock.now()
        result: dict[str, Any] = {}
        async with (await self.k.db(ctx)).tx() as conn:
            factor = await self._own_factor(conn, user_id, factor_id)
            challenge = await self._live_challenge(ctx, conn, factor_id, body.challenge_id, now)
            secret = self._unsealed(ctx.project, factor_id, factor["secret"])
            step = totp.matching_step(secret, code, now, factor["last_used_step"])
            accepted = step is not None and await mfastore.claim_step(conn, factor_id, step, now)
            if accepted:
                result = await self._accept(ctx, conn, user_id, factor, challenge["id"], now)
            else:  # committed, so that the wrong code counts
                await mfastore.add_failed_attempt(conn, challenge["id"])
        if not accepted:
            await self.k.record(ctx, "auth.factor.verification_failed", user_id,
                                factor_id=factor_id)  # fmt: skip
            raise MfaVerificationFailed()
        if factor["status"] != "verified":
            event = hooks.UserEvent(user_id, method="totp", session_id=session_of(ctx))
            await self.k.emit(ctx, hooks.FACTOR_VERIFIED, event)
        await self.k.record(ctx, "auth.factor.verified", user_id, factor_id=factor_id)
        return result

    async def _live_challenge(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        factor_id: str,
        challenge_id: str,
        now: datetime,
    ) -> Any:
        """The challenge, if a code may still be tried against it."""
        challenge = (
            await mfastore.select_challenge(conn, challenge_id, factor_id)
            if is_uuid(challenge_id)
            else None
        )
        if challenge is None:
            raise MfaChallengeNotFound()
        if challenge["verified_at"] is not None or now >= (
            challenge["created_at"] + CHALLENGE_LIFETIME
        ):
            raise MfaChallengeExpired(
                f"MFA challenge {challenge_id} has expired, verify against another challenge "
                "or create a new challenge."
            )
        if challenge["ip"] is not None and challenge["ip"] != ctx.client_ip:
            raise MfaIpAddressMismatch()
        if challenge["attempts"] >= MAX_ATTEMPTS:
            raise MfaChallengeExpired("Too many wrong codes for this challenge: create a new one.")
        if await mfastore.failures_since(conn, factor_id, now - LIMIT_WINDOW) >= MAX_FAILURES:
            raise RateLimitedRequests("Too many wrong MFA codes: wait a few minutes.")
        return challenge

    async def _accept(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        user_id: str,
        factor: Any,
        challenge_id: str,
        now: datetime,
    ) -> dict[str, Any]:
        if not await mfastore.mark_challenge_verified(conn, challenge_id, now):
            raise MfaChallengeExpired()  # a concurrent verification used it first
        if factor["status"] != "verified":
            await mfastore.update_factor(conn, factor["id"], {"status": "verified"})
        await mfastore.delete_unverified_factors(conn, user_id, "totp", keep=factor["id"])
        return await self.stepup.raise_session(ctx, conn, user_id, "totp", factor["id"])

    async def unenroll(self, ctx: RequestContext, factor_id: str) -> dict[str, Any]:
        """``DELETE /factors/{id}`` → ``{id}``; a verified factor needs an aal2 session."""
        user_id = mfa_user(ctx)
        async with (await self.k.db(ctx)).tx() as conn:
            factor = await self._own_factor(conn, user_id, factor_id)
            if factor["status"] == "verified" and await self.stepup.aal(conn, ctx) != AAL2:
                raise InsufficientAalToUnenroll()
            await self._remove(conn, user_id, factor_id)
        await self._removed(ctx, user_id, factor_id)
        return {"id": factor_id}

    async def _remove(self, conn: AsyncConnection, user_id: str, factor_id: str) -> None:
        await mfastore.delete_factors(conn, [factor_id])
        left = await store.select_factors(conn, [user_id])
        factors_left = any(f["status"] == "verified" for f in left)
        if not factors_left:  # recovery codes stand in for a factor, never alone
            await mfastore.delete_recovery_codes(conn, user_id)
        await self.stepup.lower_sessions(conn, user_id, factor_id, factors_left=factors_left)

    async def _removed(self, ctx: RequestContext, user_id: str, factor_id: str) -> None:
        await self.k.emit(ctx, hooks.FACTOR_DELETED, hooks.UserEvent(user_id, method="totp"))
        await self.k.record(ctx, "auth.factor.deleted", user_id, factor_id=factor_id)

    async def admin_list(self, ctx: RequestContext, user_id: str) -> list[dict[str, Any]]:
        """``GET /admin/users/{id}/factors`` → the user's factors (``[]`` when none)."""
        if not is_uuid(user_id):
            raise InvalidUserId()
        async with (await self.k.db(ctx)).read() as conn:
            if await store.select_user(conn, user_id) is None:
                raise UserNotFound()
            return [render_factor(f) for f in await store.select_factors(conn, [user_id])]

    async def admin_delete(
        self, ctx: RequestContext, user_id: str, factor_id: str
    ) -> dict[str, Any]:
        """``DELETE /admin/users/{id}/factors/{fid}`` → the deleted *Factor*."""
        if not is_uuid(user_id):
            raise InvalidUserId()
        async with (await self.k.db(ctx)).tx() as conn:
            if await store.select_user(conn, user_id) is None:
                raise UserNotFound()
            factor = await self._own_factor(conn, user_id, factor_id)
            await self._remove(conn, user_id, factor_id)
        await self._removed(ctx, user_id, factor_id)
        return render_factor(factor)
