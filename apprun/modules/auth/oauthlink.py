"""The user an OAuth sign-in belongs to: found by identity, linked by a vouched-for address,
or created.

Linking is where accounts get taken over, so it follows one rule: an identity joins an existing
account only when the provider says the address is verified (``email_verified``). An address
the provider does not vouch for never links (``provider_email_needs_verification``) and is not
given to a new account either (its ``email`` stays empty; the identity keeps the address), so
nobody can claim an address through a provider that does not check it. An existing account
whose address was never confirmed is confirmed by the link, and loses the password it was given
before: whoever set it never proved they own the address.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import RequestContext
from apprun.core.ids import new_id
from apprun.modules.auth import store
from apprun.modules.auth.errors import (
    BadOAuthCallback,
    EmailExists,
    ProviderEmailNeedsVerification,
    SignupDisabled,
    UserBanned,
)
from apprun.modules.auth.kernel import AuthKernel, dumps
from apprun.modules.auth.oauthprofile import Profile
from apprun.modules.auth.signin import is_banned, merge_metadata, new_user_row


@dataclass(frozen=True, slots=True)
class SignedIn:
    user_id: str
    email: str | None
    outcome: Literal["signed_in", "linked", "created"]


class Linker:
    def __init__(self, kernel: AuthKernel) -> None:
        self.k = kernel

    async def resolve(
        self, ctx: RequestContext, conn: AsyncConnection, provider: str, profile: Profile
    ) -> SignedIn:
        """Inside the caller's transaction; raises UserBanned, SignupDisabled,
        ProviderEmailNeedsVerification."""
        now = self.k.clock.now()
        identity = await store.select_identity(conn, provider, profile.subject)
        if identity is not None:
            user = await store.select_user(conn, identity["user_id"])
            if is_banned(user, now):
                raise UserBanned()
            await store.update_identity(conn, identity["id"], {
                "identity_data": dumps(profile.data), "email": profile.email,
                "last_sign_in_at": now, "updated_at": now,
            })  # fmt: skip
            metadata = merge_metadata(user["user_metadata"], profile.data)
            await store.update_user(conn, user["id"], {"user_metadata": metadata,
                                                       "updated_at": now})  # fmt: skip
            return SignedIn(user["id"], user["email"], "signed_in")
        existing = await store.select_user_by_email(conn, profile.email) if profile.email else None
        if existing is not None:
            if not profile.email_verified:
                raise ProviderEmailNeedsVerification()
            if is_banned(existing, now):
                raise UserBanned()
            await self._link(conn, existing, provider, profile)
            return SignedIn(existing["id"], existing["email"], "linked")
        if (await self.k.config(ctx)).disable_signup:
            raise SignupDisabled()
        return await self._create(ctx, conn, provider, profile)

    async def _link(
        self, conn: AsyncConnection, user: Any, provider: str, profile: Profile
    ) -> None:
        now = self.k.clock.now()
        app_metadata = json.loads(user["app_metadata"])
        providers = list(app_metadata.get("providers") or [])
        if provider not in providers:
            providers.append(provider)
        app_metadata["providers"] = providers
        app_metadata.setdefault("provider", provider)
        values: dict[str, Any] = {"app_metadata": dumps(app_metadata), "updated_at": now}
        if user["email_confirmed_at"] is None:
            values.update(email_confirmed_at=now, encrypted_password=None)
        await store.update_user(conn, user["id"], values)
        await self._add_identity(conn, user["id"], provider, profile)

    async def _create(
        self, ctx: RequestContext, conn: AsyncConnection, provider: str, profile: Profile
    ) -> SignedIn:
        now = self.k.clock.now()
        email = profile.email if profile.email_verified else None
        row = new_user_row(now, email=email, password_hash=None, provider=provider,
                           user_metadata=profile.data, locale=ctx.locale)  # fmt: skip
        if email is not None:
            row["email_confirmed_at"] = now
        try:
            await store.insert_user(conn, row)
        except store.DuplicateKey:  # the address was taken between our read and this insert
            raise EmailExists() from None
        await self._add_identity(conn, row["id"], provider, profile)
        return SignedIn(row["id"], email, "created")

    async def _add_identity(
        self, conn: AsyncConnection, user_id: str, provider: str, profile: Profile
    ) -> None:
        now = self.k.clock.now()
        try:
            await store.insert_identity(conn, {
                "id": new_id(), "user_id": user_id, "provider": provider,
                "provider_id": profile.subject, "identity_data": dumps(profile.data),
                "email": profile.email, "last_sign_in_at": now, "created_at": now,
                "updated_at": now,
            })  # fmt: skip
        except store.DuplicateKey:  # a concurrent callback of the same identity won
            raise BadOAuthCallback(
                "This identity was just signed in elsewhere: try again."
            ) from None
