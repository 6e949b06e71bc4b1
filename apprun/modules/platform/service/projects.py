"""Projects (tenants), their placement, their API keys and their runtime settings."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag

from apprun.core.clock import Clock
from apprun.core.context import RequestContext, Role
from apprun.core.errors import ExpiredApiKey, InvalidApiKey
from apprun.core.hooks import Hooks
from apprun.core.ids import new_id
from apprun.core.migrate import upgrade
from apprun.core.tenancy import DEFAULT_CLUSTER, Placement, Tenancy
from apprun.lib import jwt
from apprun.lib.crypto import seal, unseal
from apprun.modules.platform import hooks, store
from apprun.modules.platform.errors import (
    ConfirmationRequired,
    ProjectExists,
    ProjectNotFound,
    ProjectProtected,
)
from apprun.modules.platform.schemas import (
    KEY_NAMES,
    SLUG_BODY,
    ApiKey,
    KeyName,
    Project,
    ProjectCreate,
    ProjectSettings,
    ProjectSettingsPatch,
    ProjectUpdate,
)
from apprun.modules.platform.service.audit import AuditLog

DEFAULT_PROJECT = "default"
KEY_LIFETIME_SECONDS = 10 * 365 * 24 * 3600  # as Supabase's keys: long-lived, revoked by rotation
ISSUER = "apprun"
VALID_ID = re.compile(SLUG_BODY)
MAX_ID_LENGTH = 40


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    """What a verified project key says: whose project it is and which role it grants."""

    placement: Placement
    role: Role
    key_id: str


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:32].strip("-")
    if not slug or not slug[0].isalpha():
        slug = "p-" + secrets.token_hex(4) if not slug else "p-" + slug
    return slug


class ProjectService:
    def __init__(
        self, tenancy: Tenancy, hooks_bus: Hooks, audit: AuditLog, clock: Clock, seal_key: bytes
    ) -> None:
        self._tenancy = tenancy
        self._hooks = hooks_bus
        self._audit = audit
        self._clock = clock
        self._seal_key = seal_key

    # Projects
    async def list_projects(self) -> list[Project]:
        async with self._tenancy.control.read() as conn:
            rows = await store.select_projects(conn)
        return [Project.model_validate(dict(row)) for row in rows]

    async def _project_row(self, project_id: str) -> Any:
        # An id that cannot exist is not looked up (nor echoed back if it is garbage).
        if len(project_id) > MAX_ID_LENGTH or not VALID_ID.fullmatch(project_id):
            raise ProjectNotFound()
        async with self._tenancy.control.read() as conn:
            row = await store.select_project(conn, project_id)
        if row is None:
            raise ProjectNotFound(details={"project": project_id})
        return row

    async def get_project(self, project_id: str) -> Project:
        return Project.model_validate(dict(await self._project_row(project_id)))

    async def placement(self, project_id: str) -> Placement:
        row = await self._project_row(project_id)
        return Placement(row["id"], row["uid"], row["cluster"])

    async def create_project(self, ctx: RequestContext, data: ProjectCreate) -> Project:
        """Create the project, its database (file or schema, migrated) and its two keys."""
        project_id = data.id or slugify(data.name)
        cluster = data.cluster or DEFAULT_CLUSTER
        self._tenancy.check_cluster(cluster)
        now = self._clock.now()
        uid = new_id()
        values = {
            "id": project_id,
            "uid": uid,
            "name": data.name,
            "cluster": cluster,
            "signing_secret": seal(self._seal_key, secrets.token_bytes(32), project_id.encode()),
            "created_at": now,
            "updated_at": now,
        }
        placement = Placement(project_id, uid, cluster)
        migrated = False
        try:
            async with self._tenancy.control.tx() as conn:
                try:
                    await store.insert_project(conn, values)
                except store.DuplicateKey:
                    raise ProjectExists(details={"field": "id", "project": project_id}) from None
                for name in KEY_NAMES:
                    await store.insert_key(conn, self._new_key_row(project_id, name))
                # The project's database is migrated before the control row commits; if
                # anything fails from here on, the new file or schema is removed again.
                migrated = True
                await upgrade(self._tenancy.project_db(placement), "project")
                await self._audit.append(
                    conn,
                    ctx,
                    "project.created",
                    project_id,
                    {"name": data.name, "cluster": cluster},
                    project_id=project_id,
                )
        except BaseException:
            if migrated:
                await self._tenancy.drop_project(placement)
            raise
        await self._hooks.emit(
            hooks.PROJECT_CREATED, hooks.ProjectChanged(project_id), project=project_id
        )
        return Project.model_validate(values)

    async def update_project(
        self, ctx: RequestContext, project_id: str, data: ProjectUpdate
    ) -> Project:
        await self._project_row(project_id)
        async with self._tenancy.control.tx() as conn:
            changed = await store.update_project(
                conn, project_id, {"name": data.name, "updated_at": self._clock.now()}
            )
            if not changed:
                raise ProjectNotFound(details={"project": project_id})
            await self._audit.append(
                conn, ctx, "project.updated", project_id, {"name": data.name}, project_id=project_id
            )
        await self._hooks.emit(
            hooks.PROJECT_UPDATED, hooks.ProjectChanged(project_id), project=project_id
        )
        return await self.get_project(project_id)

    async def delete_project(self, ctx: RequestContext, project_id: str, confirm: bool) -> None:
        """Delete a project with its keys and its data. Needs ``confirm``."""
        if project_id == DEFAULT_PROJECT:
            raise ProjectProtected(details={"project": project_id})
        placement = await self.placement(project_id)
        if not confirm:
            raise ConfirmationRequired(
                details={
                    "field": "confirm",
                    "project": project_id,
                    "drops": "the project's database and keys",
                }
            )
        async with self._tenancy.control.tx() as conn:
            await store.delete_project(conn, project_id)
            await self._audit.append(
                conn, ctx, "project.deleted", project_id, project_id=project_id
            )
        await self._tenancy.drop_project(placement)
        await self._hooks.emit(
            hooks.PROJECT_DELETED, hooks.ProjectChanged(project_id), project=project_id
        )

    # Keys
    def _new_key_row(self, project_id: str, name: str) -> dict[str, Any]:
        issued = int(self._clock.now().timestamp())
        return {
            "id": new_id(),
            "project_id": project_id,
            "name": name,
            "issued_at": issued,
            "expires_at": issued + KEY_LIFETIME_SECONDS,
        }

    def _signing_key(self, project_id: str, sealed: str) -> bytes:
        return unseal(self._seal_key, sealed, project_id.encode())

    async def list_keys(self, project_id: str) -> list[ApiKey]:
        project = await self._project_row(project_id)
        async with self._tenancy.control.read() as conn:
            rows = await store.select_active_keys(conn, project_id)
        secret = self._signing_key(project_id, project["signing_secret"])
        return [self._render_key(row, secret) for row in rows]

    def _render_key(self, row: Any, secret: bytes) -> ApiKey:
        claims = {
            "iss": ISSUER,
            "ref": row["project_id"],
            "role": row["name"],
            "iat": row["issued_at"],
            "exp": row["expires_at"],
        }
        token = jwt.encode_hs256(claims, secret, kid=row["id"])
        return ApiKey(name=row["name"], key=token, id=row["id"], expires_at=row["expires_at"])

    async def rotate_keys(
        self, ctx: RequestContext, project_id: str, names: list[KeyName]
    ) -> list[ApiKey]:
        """Revoke the project's current keys of these names and issue new ones."""
        unique = sorted(set(names))
        await self._project_row(project_id)
        async with self._tenancy.control.tx() as conn:
            await store.revoke_keys(conn, project_id, unique, self._clock.now())
            for name in unique:
                await store.insert_key(conn, self._new_key_row(project_id, name))
            await self._audit.append(
                conn,
                ctx,
                "project.keys_rotated",
                project_id,
                {"names": unique},
                project_id=project_id,
            )
        await self._hooks.emit(
            hooks.KEYS_ROTATED, hooks.KeysRotated(project_id, tuple(unique)), project=project_id
        )
        return await self.list_keys(project_id)

    async def verify_key(self, token: str) -> KeyIdentity:
        """Check a project key: signature, expiry, and that it has not been rotated away."""
        try:
            header, claims = jwt.peek(token)
        except jwt.TokenInvalid:
            raise InvalidApiKey() from None
        key_id, ref = header.get("kid"), claims.get("ref")
        if not isinstance(key_id, str) or not isinstance(ref, str):
            raise InvalidApiKey()
        async with self._tenancy.control.read() as conn:
            row = await store.select_key_with_project(conn, key_id)
        if row is None or row["project_id"] != ref:
            raise InvalidApiKey()
        try:
            secret = self._signing_key(ref, row["signing_secret"])
            jwt.decode_hs256(
                token,
                secret,
                int(self._clock.now().timestamp()),
                iss=ISSUER,
                ref=ref,
                role=row["name"],
            )
        except jwt.TokenExpired:
            raise ExpiredApiKey() from None
        except (jwt.TokenInvalid, InvalidTag):
            raise InvalidApiKey() from None
        placement = Placement(ref, row["uid"], row["cluster"])
        return KeyIdentity(placement, Role(row["name"]), key_id)

    # Per-project runtime settings
    async def get_settings(self, ctx: RequestContext) -> ProjectSettings:
        db = self._tenancy.project_db(await self.placement(ctx.project))
        async with db.read() as conn:
            stored = await store.select_settings(conn)
        return ProjectSettings.model_validate({k: json.loads(v) for k, v in stored.items()})

    async def update_settings(
        self, ctx: RequestContext, patch: ProjectSettingsPatch
    ) -> ProjectSettings:
        """Merge-patch (RFC 7396): given keys are set, keys given as null go back to default."""
        changes = patch.model_dump(exclude_unset=True)
        updates = {k: v for k, v in changes.items() if v is not None}
        resets = sorted(k for k, v in changes.items() if v is None)
        current = (await self.get_settings(ctx)).model_dump(exclude=set(resets))
        merged = ProjectSettings.model_validate(current | updates)
        db = self._tenancy.project_db(await self.placement(ctx.project))
        async with db.tx() as conn:
            await store.upsert_settings(
                conn, {k: json.dumps(v) for k, v in updates.items()}, self._clock.now()
            )
            await store.delete_settings(conn, resets)
        await self._audit.record(ctx, "project.settings_updated", ctx.project, keys=sorted(changes))
        await self._hooks.emit(
            hooks.SETTINGS_UPDATED, hooks.ProjectChanged(ctx.project), project=ctx.project
        )
        return merged
