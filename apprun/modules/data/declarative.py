"""Declarative schema: export every collection as one document, and apply a document by
computing the difference (create, alter, drop) and running it as one migration."""

from __future__ import annotations

from pydantic import BaseModel, Field

from apprun.core.context import RequestContext
from apprun.core.models import Strict
from apprun.modules.data import ddl
from apprun.modules.data.alter import plan_alter
from apprun.modules.data.collections import Change, CollectionService
from apprun.modules.data.errors import (
    CollectionInUse,
    DestructiveChange,
    InvalidRule,
    InvalidSchema,
)
from apprun.modules.data.rules import validate_rule
from apprun.modules.data.schemas import AUTH_USERS, OPERATIONS, CollectionSpec, MigrationPlan


class SchemaDocument(Strict):
    """Every collection of a project; what ``apprun collections export`` writes."""

    collections: list[CollectionSpec] = Field(default_factory=list, max_length=1000)


class SchemaPlan(BaseModel):
    migrations: list[MigrationPlan]
    destructive: bool
    applied: bool


class SchemaService:
    def __init__(self, collections: CollectionService) -> None:
        self._collections = collections

    async def export(self, ctx: RequestContext) -> SchemaDocument:
        return SchemaDocument(collections=await self._collections.specs(ctx))

    async def apply(
        self, ctx: RequestContext, document: SchemaDocument, *, confirm: bool, dry_run: bool
    ) -> SchemaPlan:
        """Make the project's collections what ``document`` says, in one transaction."""
        desired = {spec.name: spec for spec in document.collections}
        if len(desired) != len(document.collections):
            raise InvalidSchema(details={"field": "collections", "reason": "duplicate names"})
        current = {spec.name: spec for spec in await self._collections.specs(ctx)}
        _check(desired)
        db = await self._collections.database(ctx)
        changes = [
            Change("create", None, spec, ddl.plan_create(spec))
            for spec in _creation_order(desired, current)
        ]
        for name in sorted(set(desired) & set(current)):
            if _stored(desired[name]) != _stored(current[name]):
                try:
                    children = [
                        (other.name, field)
                        for other in desired.values()
                        if other.name != name
                        for field in other.fields
                        if field.collection == name
                    ]
                    plan = plan_alter(current[name], desired[name], db.dialect, children)
                except ddl.UnsupportedChange as exc:
                    raise InvalidSchema(str(exc), details={"collection": name}) from None
                changes.append(Change("alter", current[name], desired[name], plan))
        changes += [
            Change("drop", current[name], None, ddl.plan_drop(current[name]))
            for name in sorted(set(current) - set(desired))
        ]
        destructive = any(change.plan.destructive for change in changes)
        if destructive and not (confirm or dry_run):
            drops = [s.description for c in changes for s in c.plan.steps if s.destructive]
            raise DestructiveChange(details={"drops": drops})
        plans = await self._collections.migrate(ctx, db, changes, dry_run)
        return SchemaPlan(migrations=plans, destructive=destructive, applied=not dry_run)


def _stored(spec: CollectionSpec) -> str:
    fields = [f.model_copy(update={"renamed_from": None}) for f in spec.fields]
    return spec.model_copy(update={"fields": fields}).model_dump_json()


def _check(desired: dict[str, CollectionSpec]) -> None:
    for spec in desired.values():
        for field in spec.fields:
            if field.collection not in (None, AUTH_USERS) and field.collection not in desired:
                raise CollectionInUse(
                    f"{spec.name}.{field.name} relates to {field.collection!r}, which the "
                    "document does not keep",
                    details={"collection": spec.name, "field": field.name},
                )
        problems = {
            operation: found
            for operation in OPERATIONS
            if (rule := getattr(spec.policies, operation))
            and (found := validate_rule(rule, spec, desired))
        }
        if problems:
            raise InvalidRule(details={"collection": spec.name, "policies": problems})


def _creation_order(
    desired: dict[str, CollectionSpec], current: dict[str, CollectionSpec]
) -> list[CollectionSpec]:
    """New collections, each after the new collections it relates to."""
    pending = {name: spec for name, spec in desired.items() if name not in current}
    ordered: list[CollectionSpec] = []
    while pending:
        ready = sorted(
            name
            for name, spec in pending.items()
            if all(f.collection in (None, name) or f.collection not in pending for f in spec.fields)
        )
        if not ready:
            raise InvalidSchema(
                "The new collections relate to each other in a cycle.",
                details={"collections": sorted(pending)},
            )
        ordered += [pending.pop(name) for name in ready]
    return ordered
