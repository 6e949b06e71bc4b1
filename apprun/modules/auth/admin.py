"""GoTrue's admin users API (``/auth/v1/admin/users``, service_role): list, create, read,
update (metadata, password, email, ban), delete, sign out everywhere, list sessions.

``app_metadata.roles`` are the user's apprun roles: they are kept in the data module's
``user_roles`` table (through the injected ``RoleAssigner``, so auth does not import data),
never in the stored ``app_metadata``, and every rendered *User* shows them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import RequestContext
from apprun.core.ids import new_id
from apprun.modules.auth import adminstore, hooks, passwords, store
from apprun.modules.auth.adminio import (
    AdminUserAttributes,
    PreparedUpdate,
    ban_until,
    check_metadata,
    normalise_phone,
    parse_user_id,
    render_session,
    requested_roles,
    stored_app_metadata,
)
from apprun.modules.auth.config import MAX_PASSWORD_LENGTH
from apprun.modules.auth.errors import (
    EmailExists,
    PhoneExists,
    UserAlreadyExists,
    UserInUse,
    UserNotFound,
    ValidationFailed,
)
from apprun.modules.auth.kernel import AuthKernel, dumps
from apprun.modules.auth.schemas import iso, render_user
from apprun.modules.auth.signin import (
    add_email_identity,
    merge_metadata,
    new_user_row,
    random_password,
)
from apprun.modules.auth.validation import normalise_email

RoleAssigner = Callable[[AsyncConnection, str, Sequence[str]], Awaitable[list[str]]]
"""Replace a user's roles inside the caller's transaction; → the names that are no role of
the project (and then nothing changed)."""

FOREVER = timedelta(days=365 * 100)
"""A soft-deleted user stays banned (the users table has no ``deleted_at``)."""


class AdminUsers:
    """The admin users API of one project (the caller holds its service_role key)."""

    def __init__(self, kernel: AuthKernel, assign_roles: RoleAssigner) -> None:
        self.k = kernel
        self.assign_roles = assign_roles

    async def list_users(
        self, ctx: RequestContext, page: int, per_page: int, search: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        async with (await self.k.db(ctx)).read() as conn:
            rows, total = await store.select_users(conn, (page - 1) * per_page, per_page, search)
            ids = [row["id"] for row in rows]
            identities = await store.select_identities(conn, ids)
            factors = await store.select_factors(conn, ids)
            users = [
                render_user(
                    row,
                    [i for i in identities if i["user_id"] == row["id"]],
                    [f for f in factors if f["user_id"] == row["id"]],
                    await self.k.user_roles(conn, row["id"]),
                )
                for row in rows
            ]
        return users, total

    async def get_user(self, ctx: RequestContext, user_id: str) -> dict[str, Any]:
        uid = parse_user_id(user_id)
        async with (await self.k.db(ctx)).read() as conn:
            return await self.k.user(conn, uid)

    async def create_user(self, ctx: RequestContext, body: AdminUserAttributes) -> dict[str, Any]:
        row = await self._new_row(body)
        user_id, email, phone = row["id"], row["email"], row["phone"]
        roles = requested_roles(body, [])
        async with (await self.k.db(ctx)).tx() as conn:
            await self._check_free(conn, user_id, email, phone)
            try:
                await store.insert_user(conn, row)
            except store.DuplicateKey:
                raise EmailExists() from None
            if email:
                await add_email_identity(conn, row, verified=bool(body.email_confirm))
            if phone:
                await add_phone_identity(conn, row, verified=bool(body.phone_confirm))
            if roles:
                await self._assign(conn, user_id, roles)
            result = await self.k.user(conn, user_id)
        await self.k.emit(ctx, hooks.USER_CREATED, hooks.UserEvent(user_id, email))
        await self.k.record(ctx, "auth.user.created", user_id, email=email, by="admin")
        if row["banned_until"] is not None:
            await self._banned(ctx, user_id, row["banned_until"])
        return result

    async def _new_row(self, body: AdminUserAttributes) -> dict[str, Any]:
        """The user row a creation inserts, once every field is checked."""
        if body.email is None and body.phone is None:
            raise ValidationFailed(
                "Cannot create a user without either an email or phone",
                details={"field": "email"},
            )
        email = normalise_email(body.email) if body.email is not None else None
        phone = normalise_phone(body.phone) if body.phone is not None else None
        user_id = parse_user_id(body.id) if body.id is not None else new_id()
        requested_roles(body, [])
        check_metadata("user_metadata", body.user_metadata)
        check_metadata("app_metadata", body.app_metadata)
        now = self.k.clock.now()
        banned_until = ban_until(body.ban_duration, now) if body.ban_duration else None
        password_hash = await self._password_hash(body, required=False)
        row = new_user_row(now, email=email, password_hash=password_hash,
                           provider="email" if email else "phone",
                           user_metadata=body.user_metadata,
                           app_metadata=stored_app_metadata(body))  # fmt: skip
        if email and phone:
            meta = json.loads(row["app_metadata"])
            row["app_metadata"] = dumps({**meta, "providers": ["email", "phone"]})
        row.update(id=user_id, phone=phone, banned_until=banned_until,
                   email_confirmed_at=now if email and body.email_confirm else None,
                   phone_confirmed_at=now if phone and body.phone_confirm else None)  # fmt: skip
        return row

    async def update_user(
        self, ctx: RequestContext, user_id: str, body: AdminUserAttributes
    ) -> dict[str, Any]:
        uid = parse_user_id(user_id)
        update = await self._prepare_update(ctx, body)
        async with (await self.k.db(ctx)).tx() as conn:
            row = await store.select_user(conn, uid)
            if row is None:
                raise UserNotFound()
            changes = await self._changes(conn, row, body, update)
            if changes:
                try:
                    await store.update_user(conn, uid, {**changes, "updated_at": update.now})
                except store.DuplicateKey:
                    raise EmailExists() from None
            await self._sync_identities(conn, uid, body, update)
            roles = requested_roles(body, await self.k.user_roles(conn, uid))
            if roles is not None:
                await self._assign(conn, uid, roles)
            if update.banned_until is not None:  # a ban ends every session at once
                await self.k.sessions.end(conn, uid)
            result = await self.k.user(conn, uid)
        await self._updated(ctx, uid, body, update, was_banned=row["banned_until"] is not None)
        return result

    async def _prepare_update(
        self, ctx: RequestContext, body: AdminUserAttributes
    ) -> PreparedUpdate:
        """Everything an update needs that can be refused before the transaction."""
        email = normalise_email(body.email) if body.email is not None else None
        phone = normalise_phone(body.phone) if body.phone is not None else None
        requested_roles(body, [])
        check_metadata("user_metadata", body.user_metadata)
        check_metadata("app_metadata", body.app_metadata)
        if body.password is not None:
            passwords.check_strength(body.password, (await self.k.config(ctx)).password_min_length)
        now = self.k.clock.now()
        banned_until = ban_until(body.ban_duration, now) if body.ban_duration else None
        password_hash = await self._password_hash(body, required=True)
        return PreparedUpdate(email, phone, password_hash, banned_until, now)

    async def _updated(
        self,
        ctx: RequestContext,
        uid: str,
        body: AdminUserAttributes,
        update: PreparedUpdate,
        *,
        was_banned: bool,
    ) -> None:
        await self.k.emit(ctx, hooks.USER_UPDATED, hooks.UserEvent(uid, update.email))
        changed = sorted(body.model_dump(exclude_none=True, exclude={"password", "password_hash"}))
        await self.k.record(ctx, "auth.user.updated", uid, fields=changed, by="admin")
        if update.password_hash is not None:
            await self.k.emit(ctx, hooks.PASSWORD_CHANGED, hooks.UserEvent(uid))
            await self.k.record(ctx, "auth.user.password_changed", uid, by="admin")
        if update.banned_until is not None:
            await self._banned(ctx, uid, update.banned_until)
        elif body.ban_duration and was_banned:
            await self.k.record(ctx, "auth.user.unbanned", uid, by="admin")

    async def delete_user(self, ctx: RequestContext, user_id: str, *, soft: bool) -> None:
        """Delete the user (cascading to what references them), or with ``soft`` keep the row
        for the rows that reference it and remove every credential and personal datum."""
        uid = parse_user_id(user_id)
        now = self.k.clock.now()
        async with (await self.k.db(ctx)).tx() as conn:
            row = await store.select_user(conn, uid)
            if row is None:
                raise UserNotFound()
            await self.k.sessions.end(conn, uid)
            await self._assign(conn, uid, [])  # user_roles has no foreign key to users
            if soft:
                await adminstore.delete_user_credentials(conn, uid)
                await store.update_user(conn, uid, {
                    "email": None, "phone": None, "new_email": None, "encrypted_password": None,
                    "user_metadata": "{}", "banned_until": now + FOREVER, "updated_at": now,
                })  # fmt: skip
            else:
                try:
                    await adminstore.delete_user(conn, uid)
                except adminstore.UserReferenced as exc:
                    raise UserInUse(details={"reason": str(exc).splitlines()[0][:300]}) from None
        await self.k.emit(ctx, hooks.USER_DELETED, hooks.UserEvent(uid, row["email"]))
        await self.k.record(ctx, "auth.user.deleted", uid, soft=soft, by="admin")

    async def sign_out(self, ctx: RequestContext, user_id: str) -> int:
        """End every session of the user; → how many ended."""
        uid = parse_user_id(user_id)
        async with (await self.k.db(ctx)).tx() as conn:
            if await store.select_user(conn, uid) is None:
                raise UserNotFound()
            ended = await self.k.sessions.end(conn, uid)
        await self.k.emit(ctx, hooks.USER_SIGNED_OUT, hooks.UserEvent(uid))
        await self.k.record(ctx, "auth.user.signed_out", uid, scope="global", by="admin")
        return len(ended)

    async def sessions(self, ctx: RequestContext, user_id: str) -> list[dict[str, Any]]:
        uid = parse_user_id(user_id)
        async with (await self.k.db(ctx)).read() as conn:
            if await store.select_user(conn, uid) is None:
                raise UserNotFound()
            rows = await store.select_user_sessions(conn, uid)
        return [render_session(row) for row in rows]

    async def _password_hash(self, body: AdminUserAttributes, *, required: bool) -> str | None:
        """The hash to store: of ``password``, the given ``password_hash`` (argon2 only), or,
        on creation, of a random password."""
        if body.password is not None and body.password_hash is not None:
            raise ValidationFailed(
                "Only a password or a password hash should be provided",
                details={"field": "password_hash"},
            )
        if body.password_hash is not None:
            if not body.password_hash.startswith("$argon2"):
                raise ValidationFailed(
                    "password_hash must be an argon2 hash", details={"field": "password_hash"}
                )
            return body.password_hash
        if body.password is not None and len(body.password.encode()) > MAX_PASSWORD_LENGTH:
            raise ValidationFailed(
                f"Password cannot be longer than {MAX_PASSWORD_LENGTH} bytes.",
                details={"field": "password"},
            )
        if body.password is None and required:
            return None
        return await passwords.hash_new(body.password or random_password())

    async def _check_free(
        self, conn: AsyncConnection, user_id: str, email: str | None, phone: str | None
    ) -> None:
        if await store.select_user(conn, user_id) is not None:
            raise UserAlreadyExists("A user with this id already exists.")
        if email and await store.select_user_by_email(conn, email) is not None:
            raise EmailExists()
        if phone and await adminstore.select_user_by_phone(conn, phone) is not None:
            raise PhoneExists()

    async def _changes(
        self, conn: AsyncConnection, row: Any, body: AdminUserAttributes, update: PreparedUpdate
    ) -> dict[str, Any]:
        """The columns an update sets."""
        changes: dict[str, Any] = {}
        email, phone, now = update.email, update.phone, update.now
        if email is not None and email != row["email"]:
            if await store.select_user_by_email(conn, email) is not None:
                raise EmailExists()
            changes["email"] = email
        if phone is not None and phone != row["phone"]:
            if await adminstore.select_user_by_phone(conn, phone) is not None:
                raise PhoneExists()
            changes["phone"] = phone
        if body.email_confirm and row["email_confirmed_at"] is None and (email or row["email"]):
            changes["email_confirmed_at"] = now
        if body.phone_confirm and row["phone_confirmed_at"] is None and (phone or row["phone"]):
            changes["phone_confirmed_at"] = now
        if body.user_metadata is not None:
            changes["user_metadata"] = merge_metadata(row["user_metadata"], body.user_metadata)
        if stored_app_metadata(body):
            changes["app_metadata"] = merge_metadata(row["app_metadata"], stored_app_metadata(body))
        if update.password_hash is not None:
            changes.update(encrypted_password=update.password_hash, password_changed_at=now)
        if body.ban_duration:
            changes["banned_until"] = update.banned_until
        return changes

    async def _sync_identities(
        self, conn: AsyncConnection, uid: str, body: AdminUserAttributes, update: PreparedUpdate
    ) -> None:
        """The email and phone identities follow the user's address, number and confirmation."""
        email, phone, now = update.email, update.phone, update.now
        user = await store.select_user(conn, uid)
        existing = {i["provider"]: i for i in await store.select_identities(conn, [uid])}
        wanted = {
            "email": (email or (user["email"] if body.email_confirm else None), "email"),
            "phone": (phone or (user["phone"] if body.phone_confirm else None), "phone"),
        }
        for provider, (value, column) in wanted.items():
            if value is None:
                continue
            verified = user[f"{column}_confirmed_at"] is not None
            identity = existing.get(provider)
            if identity is None:
                fresh = {"id": uid, column: value, "email": user["email"], "created_at": now}
                adder = add_email_identity if provider == "email" else add_phone_identity
                await adder(conn, fresh, verified=verified)
                continue
            data = json.loads(identity["identity_data"])
            data.update({column: value, f"{column}_verified": verified})
            await store.update_identity(conn, identity["id"], {
                "identity_data": dumps(data), "email": user["email"], "updated_at": now,
            })  # fmt: skip

    async def _assign(self, conn: AsyncConnection, user_id: str, roles: list[str]) -> None:
        unknown = await self.assign_roles(conn, user_id, roles)
        if unknown:
            raise ValidationFailed(
                f"Unknown roles: {', '.join(unknown)}",
                details={"field": "app_metadata.roles", "unknown_roles": unknown},
            )

    async def _banned(self, ctx: RequestContext, user_id: str, until: datetime) -> None:
        await self.k.emit(ctx, hooks.USER_BANNED, hooks.UserEvent(user_id))
        await self.k.record(ctx, "auth.user.banned", user_id, until=iso(until), by="admin")


async def add_phone_identity(conn: AsyncConnection, user: dict[str, Any], verified: bool) -> None:
    now = user["created_at"]
    data = {"sub": user["id"], "phone": user["phone"], "email_verified": False,
            "phone_verified": verified}  # fmt: skip
    await store.insert_identity(conn, {
        "id": new_id(), "user_id": user["id"], "provider": "phone", "provider_id": user["id"],
        "identity_data": dumps(data), "email": user.get("email"), "created_at": now,
        "updated_at": now,
    })  # fmt: skip
