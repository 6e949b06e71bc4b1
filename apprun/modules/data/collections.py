"""Use cases on collections: create, change, drop, each one migration of the project's
database, recorded in its history and in the audit log."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.clock import Clock
from apprun.core.context import RequestContext
from apprun.core.db import Database
from apprun.core.hooks import Hooks
from apprun.core.models import field_errors
from apprun.core.tenancy import Placement, Tenancy
from apprun.modules.data import ddl, hooks, rolestore, store
from apprun.modules.data.alter import plan_alter
from apprun.modules.data.errors import (
    CollectionExists,
    CollectionInUse,
    CollectionNotFound,
    DestructiveChange,
    InvalidRule,
    InvalidSchema,
    MigrationFailed,
)
from apprun.modules.data.rules import validate_rule
from apprun.modules.data.schemas import (
    AUTH_USERS,
    OPERATIONS,
    Collection,
    CollectionPatch,
    CollectionSpec,
    FieldSpec,
    Migration,
    MigrationPlan,
    PlanStep,
)

PlacementOf = Callable[[str], Awaitable[Placement]]
AuditRecord = Callable[..., Awaitable[None]]


class CollectionService:
    def __init__(
        self,
        tenancy: Tenancy,
        hooks_bus: Hooks,
        clock: Clock,
        placement_of: PlacementOf,
        audit: AuditRecord,
    ) -> None:
        self._tenancy = tenancy
        self._hooks = hooks_bus
        self._clock = clock
        self._placement_of = placement_of
        self._audit = audit

    async def database(self, ctx: RequestContext) -> Database:
        placement = ctx.placement or await self._placement_of(ctx.project)
        return self._tenancy.project_db(placement)

    async def list_collections(self, ctx: RequestContext) -> list[Collection]:
        async with (await self.database(ctx)).read() as conn:
            rows = await store.select_collections(conn)
        return [_collection(row) for row in rows]

    async def get_collection(self, ctx: RequestContext, name: str) -> Collection:
        async with (await self.database(ctx)).read() as conn:
            row = await store.select_collection(conn, name)
        if row is None:
            raise CollectionNotFound(details={"collection": name})
        return _collection(row)

    async def children(self, ctx: RequestContext, name: str) -> list[tuple[str, FieldSpec]]:
        """The relation fields of other collections that point at ``name``."""
        return [
            (spec.name, field)
            for spec in await self.specs(ctx)
            if spec.name != name
            for field in spec.fields
            if field.collection == name
        ]

    async def specs(self, ctx: RequestContext) -> list[CollectionSpec]:
        """Every collection's definition."""
        async with (await self.database(ctx)).read() as conn:
            rows = await store.select_collections(conn)
        return [CollectionSpec.model_validate_json(row["spec"]) for row in rows]

    async def spec(self, ctx: RequestContext, name: str) -> CollectionSpec:
        """The definition of one collection (what REST requests are checked against)."""
        collection = await self.get_collection(ctx, name)
        return CollectionSpec.model_validate(
            collection.model_dump(include={"name", "fields", "indexes", "policies"})
        )

    async def create_collection(
        self,
        ctx: RequestContext,
        spec: CollectionSpec,
        dry_run: bool,
        grants: dict[str, list[str]] | None = None,
    ) -> MigrationPlan:
        db = await self.database(ctx)
        async with db.read() as conn:
            if await store.select_collection(conn, spec.name) is not None:
                raise CollectionExists(details={"collection": spec.name})
            known = {row["name"] for row in await store.select_collections(conn)}
        _check_relations(spec, known | {spec.name})
        await self._check_policies(ctx, spec)
        permissions = await self._check_grants(db, spec.name, grants or {})
        change = Change("create", None, spec, ddl.plan_create(spec), permissions)
        return (await self.migrate(ctx, db, [change], dry_run))[0]

    async def update_collection(
        self, ctx: RequestContext, name: str, patch: CollectionPatch, *, dry_run: bool
    ) -> MigrationPlan:
        """Apply a patch: one migration, refused without ``confirm`` when it drops data."""
        db = await self.database(ctx)
        old = await self.spec(ctx, name)
        changes = patch.model_dump(exclude_unset=True, exclude={"confirm"})
        try:
            spec = CollectionSpec.model_validate(old.model_dump() | changes)
        except ValidationError as exc:
            raise InvalidSchema(details={"fields": field_errors(exc)}) from None
        async with db.read() as conn:
            known = {row["name"] for row in await store.select_collections(conn)}
        if spec.name != name and spec.name in known:
            raise CollectionExists(details={"collection": spec.name})
        _check_relations(spec, (known - {name}) | {spec.name})
        await self._check_policies(ctx, spec)
        try:
            plan = plan_alter(old, spec, db.dialect, await self.children(ctx, name))
        except ddl.UnsupportedChange as exc:
            raise InvalidSchema(str(exc), details={"collection": name}) from None
        if plan.destructive and not (patch.confirm or dry_run):
            raise DestructiveChange(details=_drops(plan))
        return await self._migrate(ctx, db, "alter", old, spec, plan, dry_run)

    async def delete_collection(
        self, ctx: RequestContext, name: str, *, confirm: bool, dry_run: bool
    ) -> MigrationPlan:
        db = await self.database(ctx)
        old = await self.spec(ctx, name)
        async with db.read() as conn:
            others = [
                CollectionSpec.model_validate_json(row["spec"])
                for row in await store.select_collections(conn)
                if row["name"] != name
            ]
        users = sorted(o.name for o in others if any(f.collection == name for f in o.fields))
        if users:
            raise CollectionInUse(details={"collection": name, "used_by": users})
        plan = ddl.plan_drop(old)
        if not (confirm or dry_run):
            raise DestructiveChange(details=_drops(plan))
        return await self._migrate(ctx, db, "drop", old, None, plan, dry_run)

    async def migrations(
        self, ctx: RequestContext, collection: str | None, limit: int
    ) -> list[Migration]:
        async with (await self.database(ctx)).read() as conn:
            rows = await store.select_migrations(conn, collection, limit)
        return [
            Migration.model_validate(
                {**row, "summary": json.loads(row["summary"]), "ddl": json.loads(row["ddl"])}
            )
            for row in rows
        ]

    async def _check_policies(self, ctx: RequestContext, spec: CollectionSpec) -> None:
        others = {s.name: s for s in await self.specs(ctx)}
        others[spec.name] = spec
        problems = {
            operation: found
            for operation in OPERATIONS
            if (rule := getattr(spec.policies, operation))
            and (found := validate_rule(rule, spec, others))
        }
        if problems:
            raise InvalidRule(details={"policies": problems})

    async def _check_grants(
        self, db: Database, name: str, grants: dict[str, list[str]]
    ) -> dict[str, list[str]]:
        if not grants:
            return {}
        async with db.read() as conn:
            known = {row["name"] for row in await rolestore.select_roles(conn)}
        unknown = sorted(set(grants) - known)
        if unknown:
            raise InvalidSchema(details={"field": "grants", "unknown_roles": unknown})
        return {role: [f"rest:{name}:{op}" for op in ops] for role, ops in grants.items()}

    async def _migrate(
        self,
        ctx: RequestContext,
        db: Database,
        action: str,
        before: CollectionSpec | None,
        after: CollectionSpec | None,
        plan: ddl.Plan,
        dry_run: bool,
    ) -> MigrationPlan:
        results = await self.migrate(ctx, db, [Change(action, before, after, plan)], dry_run)
        return results[0]

    async def migrate(
        self, ctx: RequestContext, db: Database, changes: list[Change], dry_run: bool
    ) -> list[MigrationPlan]:
        """Apply changes in one transaction (all or nothing), record them, then announce."""
        rendered = [(change, ddl.render(change.plan, db.dialect)) for change in changes]
        results = [_result(change.plan, statements, not dry_run) for change, statements in rendered]
        if dry_run or not changes:
            return results
        now = self._clock.now()
        try:
            rebuild = any(change.plan.rebuild for change in changes)
            async with db.tx(foreign_keys=not rebuild) as conn:
                for change, statements in rendered:
                    await conn.run_sync(ddl.apply, change.plan, db.schema)
                    await _record_catalog(conn, change.action, change.before, change.after, now)
                    await _record_permissions(conn, change)
                    await store.insert_migration(conn, _history(ctx, change, statements, now))
        except (IntegrityError, DBAPIError, ddl.UnsupportedChange) as exc:
            reason = str(getattr(exc, "orig", exc)).splitlines()[0][:500]
            names = [change.plan.collection for change in changes]
            raise MigrationFailed(details={"collections": names, "reason": reason}) from None
        for change in changes:
            await self._announce(ctx, change)
        return results

    async def _announce(self, ctx: RequestContext, change: Change) -> None:
        name = change.plan.collection
        await self._audit(
            ctx,
            f"data.collection_{change.action}",
            name,
            project_id=ctx.project,
            steps=len(change.plan.steps),
        )
        hook = {
            "create": hooks.COLLECTION_CREATED,
            "alter": hooks.COLLECTION_UPDATED,
            "drop": hooks.COLLECTION_DELETED,
        }[change.action]
        await self._hooks.emit(
            hook, hooks.CollectionChanged(ctx.project, name), project=ctx.project
        )


@dataclass
class Change:
    """One collection's migration: created (no before), altered, or dropped (no after)."""

    action: str
    before: CollectionSpec | None
    after: CollectionSpec | None
    plan: ddl.Plan
    grants: dict[str, list[str]] = field(default_factory=dict)


async def _record_permissions(conn: AsyncConnection, change: Change) -> None:
    """Grants given at creation; a dropped or renamed collection's ``rest:`` permissions."""
    for role, permissions in change.grants.items():
        await rolestore.add_permissions(conn, role, permissions)
    before, after = change.before, change.after
    if before is not None and (after is None or after.name != before.name):
        await rolestore.rename_permissions(
            conn, f"rest:{before.name}:", f"rest:{after.name}:" if after else None
        )


def _result(plan: ddl.Plan, statements: list[str], applied: bool) -> MigrationPlan:
    return MigrationPlan(
        collection=plan.collection,
        steps=[
            PlanStep(action=s.action, description=s.description, destructive=s.destructive)
            for s in plan.steps
        ],
        ddl=statements,
        destructive=plan.destructive,
        applied=applied,
    )


def _history(
    ctx: RequestContext, change: Change, statements: list[str], now: Any
) -> dict[str, Any]:
    return {
        "collection": change.plan.collection,
        "action": change.action,
        "summary": json.dumps([s.description for s in change.plan.steps]),
        "ddl": json.dumps(statements),
        "spec_before": change.before.model_dump_json() if change.before else None,
        "spec_after": change.after.model_dump_json() if change.after else None,
        "actor": ctx.principal.actor,
        "applied_at": now,
    }


async def _record_catalog(
    conn: AsyncConnection,
    action: str,
    before: CollectionSpec | None,
    after: CollectionSpec | None,
    now: Any,
) -> None:
    if action == "create" and after is not None:
        await store.insert_collection(conn, after.name, _stored(after), now)
    elif action == "alter" and before is not None and after is not None:
        await store.update_collection(conn, before.name, after.name, _stored(after), now)
    elif before is not None:
        await store.delete_collection(conn, before.name)


def _stored(spec: CollectionSpec) -> str:
    # Renames are instructions for one migration, not part of the definition.
    clean = spec.model_copy(
        update={
            "fields": [f.model_copy(update={"renamed_from": None}) for f in spec.fields],
        }
    )
    return clean.model_dump_json()


def _check_relations(spec: CollectionSpec, known: set[str]) -> None:
    for one in spec.fields:
        if one.collection is None or one.collection in known or one.collection == AUTH_USERS:
            continue
        reason = f"no collection is named {one.collection!r}"
        raise InvalidSchema(details={"field": f"fields.{one.name}.collection", "reason": reason})


def _drops(plan: ddl.Plan) -> dict[str, Any]:
    return {"drops": [s.description for s in plan.steps if s.destructive]}


def _collection(row: Any) -> Collection:
    spec = json.loads(row["spec"])
    return Collection.model_validate(
        {
            **spec,
            "version": row["version"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }
    )
