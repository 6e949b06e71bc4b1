"""Collections as tables: build the SQLAlchemy table of a definition, and plan the DDL that
turns one definition into another.

A plan is a list of steps, each with a human description and a function of Alembic's
``Operations``; the same functions render the DDL text for a dry run (Alembic's offline mode)
and apply it on a connection (online mode), so what a dry run shows is what runs.

Field ``unique`` is a unique index (SQLite cannot add a UNIQUE constraint to a table);
min/max/length/select checks are column CHECK constraints, so that dropping the column drops
them too.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import JSONB

from apprun.core.types import UtcDateTime
from apprun.modules.data.schemas import CollectionSpec, FieldSpec, relation_table

Op = Callable[[Operations], None]


@dataclass
class Step:
    action: str
    description: str
    run: Op
    destructive: bool = False


@dataclass
class Plan:
    collection: str
    steps: list[Step] = field(default_factory=list)
    rebuild: bool = False
    """A table rebuild: on SQLite it runs with foreign-key enforcement suspended."""

    @property
    def destructive(self) -> bool:
        return any(step.destructive for step in self.steps)


class UnsupportedChange(ValueError):
    """A change this version cannot make in place (the message says which and why)."""


def column_type(spec: FieldSpec) -> sa.types.TypeEngine[Any]:
    types: dict[str, sa.types.TypeEngine[Any]] = {
        "text": sa.Text(), "email": sa.Text(), "url": sa.Text(), "file": sa.Text(),
        "varchar": sa.String(spec.max_length), "select": sa.String(255),
        "integer": sa.Integer(), "bigint": sa.BigInteger(), "numeric": sa.Numeric(),
        "float": sa.Float(53), "boolean": sa.Boolean(), "timestamp": UtcDateTime(),
        "date": sa.Date(), "uuid": sa.String(36), "relation": sa.String(36),
        "json": sa.JSON().with_variant(JSONB(), "postgresql"),
    }  # fmt: skip
    return types[spec.type]


def _default_sql(spec: FieldSpec) -> sa.TextClause | None:
    # A quoted literal: PostgreSQL casts it to the column type, SQLite applies the affinity.
    if spec.default is None:
        return None
    value = spec.default
    if isinstance(value, bool):
        text = "1" if value else "0"
    elif spec.type == "json":
        text = json.dumps(value)
    else:
        text = str(value)
    return sa.text("'" + text.replace("'", "''") + "'")


def _checks(table: str, spec: FieldSpec) -> list[sa.CheckConstraint]:
    col: sa.ColumnClause[Any] = sa.column(spec.name)
    checks: list[tuple[str, sa.ColumnElement[bool]]] = []
    if spec.min is not None:
        checks.append(("min", col >= sa.literal(spec.min, literal_execute=True)))
    if spec.max is not None:
        checks.append(("max", col <= sa.literal(spec.max, literal_execute=True)))
    if spec.min_length is not None:
        checks.append(("min_length", sa.func.length(col) >= spec.min_length))
    if spec.max_length is not None and spec.type != "varchar":
        checks.append(("max_length", sa.func.length(col) <= spec.max_length))
    if spec.values is not None:
        checks.append(("values", col.in_(spec.values)))
    return [
        sa.CheckConstraint(_literal_sql(expr), name=f"ck_{table}_{spec.name}_{kind}")
        for kind, expr in checks
    ]


def _literal_sql(expr: sa.ColumnElement[bool]) -> str:
    # Constraints are DDL: their values are written in, once, from a validated definition.
    return str(expr.compile(compile_kwargs={"literal_binds": True}))


def build_column(table: str, spec: FieldSpec) -> sa.Column[Any]:
    args: list[Any] = list(_checks(table, spec))
    if spec.type == "relation" and spec.collection is not None:
        ondelete = None if spec.on_delete == "no action" else spec.on_delete.upper()
        target = relation_table(spec.collection)
        args.insert(
            0, sa.ForeignKey(f"{target}.id", ondelete=ondelete, name=f"fk_{table}_{spec.name}")
        )
    return sa.Column(
        spec.name,
        column_type(spec),
        *args,
        nullable=not spec.required,
        server_default=_default_sql(spec),
    )


def system_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def build_table(spec: CollectionSpec, metadata: sa.MetaData | None = None) -> sa.Table:
    """The table of a collection (relation targets get stub tables in the same metadata)."""
    metadata = metadata or sa.MetaData()
    for target in {relation_table(f.collection) for f in spec.fields if f.collection}:
        if target not in metadata.tables and target != spec.name:
            sa.Table(target, metadata, sa.Column("id", sa.String(36), primary_key=True))
    columns = [build_column(spec.name, f) for f in spec.fields]
    return sa.Table(spec.name, metadata, *system_columns(), *columns)


def index_specs(spec: CollectionSpec) -> dict[str, tuple[list[str], bool]]:
    """Every index of a collection by name → (fields, unique)."""
    indexes = {
        f"ix_{spec.name}_created_at": (["created_at"], False),
        f"ix_{spec.name}_updated_at": (["updated_at"], False),
    }
    for f in spec.fields:
        if f.unique:
            indexes[f"uq_{spec.name}_{f.name}"] = ([f.name], True)
    for index in spec.indexes:
        kind = "uq" if index.unique else "ix"
        indexes[f"{kind}_{spec.name}_{'_'.join(index.fields)}"[:63]] = (index.fields, index.unique)
    # Relation fields are looked up by embeds and by cascades: index them unless an index
    # already starts with the field (PostgreSQL does not index foreign keys by itself).
    leading = {fields[0] for fields, _ in indexes.values()}
    for f in spec.fields:
        if f.type == "relation" and f.name not in leading:
            indexes[f"ix_{spec.name}_{f.name}"[:63]] = ([f.name], False)
    return indexes


def create_index_op(table: str, name: str, fields: list[str], unique: bool) -> Op:
    return lambda op: op.create_index(name, table, fields, unique=unique)


def drop_index_op(table: str, name: str) -> Op:
    return lambda op: op.drop_index(name, table_name=table)


def plan_create(spec: CollectionSpec) -> Plan:
    def create(op: Operations) -> None:
        # Fresh columns each run: a Column belongs to one table once created.
        columns = [build_column(spec.name, f) for f in spec.fields]
        op.create_table(spec.name, *system_columns(), *columns)

    plan = Plan(spec.name, [Step("create_table", f"create table {spec.name}", create)])
    for name, (fields, unique) in index_specs(spec).items():
        plan.steps.append(
            Step(
                "create_index",
                f"create index {name} on ({', '.join(fields)})",
                create_index_op(spec.name, name, fields, unique),
            )
        )
    return plan


def plan_drop(spec: CollectionSpec) -> Plan:
    step = Step(
        "drop_table",
        f"drop table {spec.name} and every row in it",
        lambda op: op.drop_table(spec.name),
        destructive=True,
    )
    return Plan(spec.name, [step])


def render(plan: Plan, dialect: str) -> list[str]:
    """The DDL statements of a plan, as text, without touching a database."""
    buffer = io.StringIO()
    context = MigrationContext.configure(
        dialect_name=dialect, opts={"as_sql": True, "output_buffer": buffer}
    )
    operations = Operations(context)
    for step in plan.steps:
        step.run(operations)
    return [s.strip() for s in buffer.getvalue().split(";") if s.strip()]


def apply(connection: Connection, plan: Plan, schema: str | None) -> None:
    """Run a plan on a connection, inside the caller's transaction."""
    if schema is not None:
        # Alembic's ALTER statements do not go through schema_translate_map.
        connection.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
    operations = Operations(MigrationContext.configure(connection))
    for step in plan.steps:
        step.run(operations)
