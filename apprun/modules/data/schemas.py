"""Collections as users define them: fields, indexes, policies, grants."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from apprun.core.models import Strict

NAME = r"^[a-z][a-z0-9_]{0,62}$"
SYSTEM_FIELDS = ("id", "created_at", "updated_at")
RESERVED_PREFIXES = ("_", "auth_", "storage_", "apprun_", "pg_", "sqlite_")
RESERVED_NAMES = {"project_settings", "alembic_version", "rpc"}
AUTH_USERS = "auth.users"
"""A relation target that is no collection: the project's users (the auth module's table)."""
AUTH_USERS_TABLE = "users"


def relation_table(collection: str) -> str:
    """The table a relation to ``collection`` references."""
    return AUTH_USERS_TABLE if collection == AUTH_USERS else collection


FieldType = Literal[
    "text",
    "varchar",
    "integer",
    "bigint",
    "numeric",
    "float",
    "boolean",
    "timestamp",
    "date",
    "uuid",
    "json",
    "select",
    "email",
    "url",
    "relation",
    "file",
]
OnDelete = Literal["cascade", "set null", "restrict", "no action"]
Operation = Literal["select", "insert", "update", "delete"]
OPERATIONS: tuple[Operation, ...] = ("select", "insert", "update", "delete")

TEXT_TYPES = {"text", "varchar", "email", "url", "select", "file"}
NUMBER_TYPES = {"integer", "bigint", "numeric", "float"}


class FieldSpec(Strict):
    name: str = Field(pattern=NAME)
    type: FieldType
    required: bool = False
    unique: bool = False
    hidden: bool = False
    default: Any = None
    min: float | None = None
    max: float | None = None
    min_length: int | None = Field(None, ge=0)
    max_length: int | None = Field(None, ge=1, le=10_485_760)
    pattern: str | None = Field(None, max_length=1000)
    values: list[str] | None = Field(None, min_length=1, max_length=1000)
    collection: str | None = None
    on_delete: OnDelete = "no action"
    renamed_from: str | None = Field(
        None, pattern=NAME, description="On update: the field's previous name (keeps its data)."
    )

    @model_validator(mode="after")
    def _coherent(self) -> FieldSpec:
        problems = _field_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _field_problems(spec: FieldSpec) -> list[str]:
    problems = []
    if spec.name in SYSTEM_FIELDS:
        problems.append(f"{spec.name!r} is a system field every collection has")
    if (spec.min_length is not None or spec.max_length is not None) and spec.type not in (
        TEXT_TYPES
    ):
        problems.append("min_length/max_length apply to text fields only")
    if spec.type == "varchar" and spec.max_length is None:
        problems.append("a varchar needs max_length")
    if (spec.min is not None or spec.max is not None) and spec.type not in NUMBER_TYPES:
        problems.append("min/max apply to number fields only")
    if spec.min is not None and spec.max is not None and spec.min > spec.max:
        problems.append("min is greater than max")
    if spec.pattern is not None:
        if spec.type not in TEXT_TYPES:
            problems.append("pattern applies to text fields only")
        else:
            try:
                re.compile(spec.pattern)
            except re.error as exc:
                problems.append(f"pattern is not a valid regular expression: {exc}")
    if (spec.type == "select") != (spec.values is not None):
        problems.append("values are required for select fields, and only for them")
    if (spec.type == "relation") != (spec.collection is not None):
        problems.append("collection is required for relation fields, and only for them")
    return problems


class IndexSpec(Strict):
    fields: list[str] = Field(min_length=1, max_length=16)
    unique: bool = False


class Policies(Strict):
    """Per operation: null = service_role and admins only, "" = every granted role,
    otherwise a rule (see docs/rules.md)."""

    select: str | None = Field(None, max_length=4096)
    insert: str | None = Field(None, max_length=4096)
    update: str | None = Field(None, max_length=4096)
    delete: str | None = Field(None, max_length=4096)


class CollectionSpec(Strict):
    name: str = Field(pattern=NAME)
    fields: list[FieldSpec] = Field(default_factory=list, max_length=500)
    indexes: list[IndexSpec] = Field(default_factory=list, max_length=64)
    policies: Policies = Field(default_factory=Policies)

    @model_validator(mode="after")
    def _coherent(self) -> CollectionSpec:
        problems = []
        if self.name.startswith(RESERVED_PREFIXES) or self.name in RESERVED_NAMES:
            problems.append(f"the name {self.name!r} is reserved")
        names = [f.name for f in self.fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append(f"duplicate fields: {', '.join(duplicates)}")
        known = set(names) | set(SYSTEM_FIELDS)
        for index in self.indexes:
            unknown = [f for f in index.fields if f not in known]
            if unknown:
                problems.append(f"an index names unknown fields: {', '.join(unknown)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


class CollectionCreate(CollectionSpec):
    """A new collection, and optionally which roles may do what on it (RBAC)."""

    grants: dict[str, list[Operation]] = Field(
        default_factory=dict,
        description='Role → operations, e.g. {"anon": ["select"], '
        '"authenticated": ["select", "insert"]}; stored as rest:<name>:<op> permissions.',
    )


class CollectionPatch(Strict):
    """Changes to a collection: keys left out keep their value; a ``fields`` list replaces the
    whole list (give ``renamed_from`` to rename a field); a new ``name`` renames the
    collection. ``confirm`` must be true when the change drops data."""

    name: str | None = Field(None, pattern=NAME)
    fields: list[FieldSpec] | None = Field(None, max_length=500)
    indexes: list[IndexSpec] | None = Field(None, max_length=64)
    policies: Policies | None = None
    confirm: bool = False


class Collection(BaseModel):
    name: str
    fields: list[FieldSpec]
    indexes: list[IndexSpec]
    policies: Policies
    version: int
    created_at: datetime
    updated_at: datetime


class PlanStep(BaseModel):
    action: str
    description: str
    destructive: bool = False


class MigrationPlan(BaseModel):
    collection: str
    steps: list[PlanStep]
    ddl: list[str]
    destructive: bool
    applied: bool


class Migration(BaseModel):
    id: int
    collection: str
    action: str
    summary: list[str]
    ddl: list[str]
    actor: str
    applied_at: datetime


ROLE_NAME = r"^[a-z][a-z0-9_-]{0,62}$"
PERMISSION = r"^[a-z*][a-z0-9_.*-]*(:[a-z0-9_.*-]+){1,4}$"
BUILTIN_ROLES = ("anon", "authenticated", "service_role")
Permission = Annotated[str, Field(pattern=PERMISSION, max_length=200)]


class RoleCreate(Strict):
    name: str = Field(pattern=ROLE_NAME)
    description: str = Field("", max_length=1000)
    permissions: list[Permission] = Field(default_factory=list, max_length=1000)


class RolePatch(Strict):
    description: str | None = Field(None, max_length=1000)
    permissions: list[Permission] | None = Field(
        None, max_length=1000, description="Replaces the role's permissions."
    )


class Role(BaseModel):
    name: str
    description: str
    builtin: bool
    permissions: list[str]
    created_at: datetime


class UserRoles(Strict):
    roles: list[str] = Field(max_length=100)
