"""Plan a table rebuild: how a collection changes a field's type or database constraints, or
drops a relation field on SQLite — what ALTER TABLE cannot do on both engines.

In the migration's one transaction, after dropping the collection's indexes:

- SQLite (foreign-key enforcement suspended for the transaction, as SQLite's own procedure
  says, so that dropping the table does not cascade into other collections): create the new
  table aside, copy the rows into it, drop the old table, rename the new one into place, then
  ``PRAGMA foreign_key_check`` — a broken key stops the migration.
- PostgreSQL: rename the old table aside, create the new one, copy, drop the old one with
  CASCADE (which drops the other collections' foreign keys to it, never rows), and restore
  those foreign keys on the new table.

Fields whose type changes are converted with CAST. A narrowing conversion needs
``confirm`` and is checked first: a value that would change (SQLite's CAST turns ``'abc'``
into 0, PostgreSQL's rounds 1.5 to 2) stops the migration. A row that
breaks a new constraint (a shorter ``max_length``, a new ``required``) makes the database
refuse the copy. Either way the whole migration is rolled back. Finally the indexes of the
new definition are created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations

from apprun.modules.data.ddl import (
    Op,
    Step,
    UnsupportedChange,
    build_column,
    column_type,
    create_index_op,
    drop_index_op,
    index_specs,
    system_columns,
)
from apprun.modules.data.schemas import CollectionSpec, FieldSpec

NUMBERS = {"integer", "bigint", "numeric", "float"}
TEXTS = {"text", "varchar", "email", "url", "select", "file"}
# Conversions that never lose a value, so they need no check.
WIDENING = {
    ("integer", "bigint"),
    ("integer", "numeric"),
    ("integer", "float"),
    ("bigint", "numeric"),
    ("bigint", "float"),
} | {(t, u) for t in TEXTS for u in TEXTS}
CHILD = tuple[str, FieldSpec]
"""A relation field of another collection that points at the rebuilt one."""


def convertible(before: str, after: str) -> bool:
    """The type changes a rebuild makes: numbers ↔ numbers, anything → text, text → numbers."""
    return (
        before == after
        or after in TEXTS
        or (after in NUMBERS and (before in NUMBERS or before in TEXTS))
    )


def plan_rebuild(
    old: CollectionSpec,
    new: CollectionSpec,
    renames: Mapping[str, str],
    dialect: str,
    children: Sequence[CHILD],
) -> list[Step]:
    if new.name != old.name:
        raise UnsupportedChange("rename the collection and change its fields in two steps")
    sources = {after: before for before, after in renames.items()}
    old_fields = {f.name: f for f in old.fields}
    copies: list[tuple[FieldSpec, FieldSpec | None]] = []
    for field in new.fields:
        source = old_fields.get(sources.get(field.name, field.name))
        if source is not None and not convertible(source.type, field.type):
            raise UnsupportedChange(
                f"field {field.name!r} cannot change from {source.type} to {field.type}; "
                "add a new field and copy the values instead"
            )
        if source is None and field.required and field.default is None:
            raise UnsupportedChange(
                f"the new required field {field.name!r} needs a default for the existing rows"
            )
        copies.append((field, source))
    aside = f"_rebuild_{old.name}"[:63]
    steps = [
        Step("drop_index", f"drop index {name}", drop_index_op(old.name, name))
        for name in index_specs(old)
    ]
    changed = [
        (field, source)
        for field, source in copies
        if source is not None
        and source.type != field.type
        and (source.type, field.type) not in WIDENING
    ]
    # A narrowing conversion needs confirmation, and is refused if any value would change.
    steps += [
        Step(
            "convert",
            f"convert {source.name} from {source.type} to {field.type} "
            "(refused if a value would change)",
            _check_conversion(old.name, source, field),
            destructive=True,
        )
        for field, source in changed
    ]
    if dialect == "sqlite":
        steps += [
            Step(
                "create_table",
                f"create {aside} with the new field definitions",
                _create(new, aside, copies),
            ),
            Step(
                "copy", f"copy the rows of {old.name} into {aside}", _copy(aside, old.name, copies)
            ),
            Step("drop_table", f"drop the old {old.name}", lambda op: op.drop_table(old.name)),
            Step(
                "rename_table",
                f"rename {aside} to {old.name}",
                lambda op: op.rename_table(aside, old.name),
            ),
            Step("check", "check every foreign key", _check_foreign_keys),
        ]
    else:
        steps += [
            Step(
                "rename_table",
                f"rename {old.name} to {aside}",
                lambda op: op.rename_table(old.name, aside),
            ),
            Step(
                "create_table",
                f"create {new.name} with the new field definitions",
                _create(new, new.name, copies),
            ),
            Step(
                "copy", f"copy the rows of {aside} into {new.name}", _copy(new.name, aside, copies)
            ),
            Step(
                "drop_table",
                f"drop the old {aside}",
                lambda op: op.execute(sa.text(f'DROP TABLE "{aside}" CASCADE')),
            ),
            *[
                Step(
                    "foreign_key",
                    f"restore {child}.{field.name} → {new.name}",
                    _restore_foreign_key(child, field, new.name),
                )
                for child, field in children
            ],
        ]
    steps += [
        Step(
            "create_index",
            f"create index {name} on ({', '.join(fields)})",
            create_index_op(new.name, name, fields, unique),
        )
        for name, (fields, unique) in index_specs(new).items()
    ]
    return steps


def _create(new: CollectionSpec, name: str, copies: list[tuple[FieldSpec, FieldSpec | None]]) -> Op:
    def run(op: Operations) -> None:
        # Constraint names follow the collection's name, whatever the table is called now.
        columns = [build_column(new.name, field) for field, _ in copies]
        op.create_table(name, *system_columns(), *columns)

    return run


def _check_foreign_keys(op: Operations) -> None:
    if op.get_context().as_sql:
        return
    broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise UnsupportedChange(f"{len(broken)} rows would break a relation; nothing was changed")


def _copy(
    target_name: str, source_name: str, copies: list[tuple[FieldSpec, FieldSpec | None]]
) -> Op:
    def run(op: Operations) -> None:
        names = ["id", "created_at", "updated_at", *[field.name for field, _ in copies]]
        source_names = [
            "id",
            "created_at",
            "updated_at",
            *[src.name for _, src in copies if src is not None],
        ]
        source = sa.table(source_name, *[sa.column(name) for name in source_names])
        values: list[Any] = [
            source.c.id,
            source.c.created_at,
            source.c.updated_at,
        ]
        for field, src in copies:
            if src is None:
                values.append(sa.literal(field.default) if field.default is not None else sa.null())
            elif src.type != field.type:
                values.append(sa.cast(source.c[src.name], column_type(field)))
            else:
                values.append(source.c[src.name])
        target = sa.table(target_name, *[sa.column(name) for name in names])
        op.execute(sa.insert(target).from_select(names, sa.select(*values)))

    return run


def _check_conversion(table: str, source: FieldSpec, field: FieldSpec) -> Op:
    def run(op: Operations) -> None:
        if op.get_context().as_sql:  # a dry run shows the plan; the check needs the rows
            return
        column: sa.ColumnClause[Any] = sa.column(source.name)
        converted = sa.cast(column, column_type(field))
        # Numbers compare as numbers (1.0 → 1 is fine, 1.5 → 1 is not); text compares as
        # text ('12' → 12 is fine, '12.0' or 'abc' are not).
        changed = (
            converted != column
            if source.type in NUMBERS and field.type in NUMBERS
            else sa.cast(converted, sa.Text) != sa.cast(column, sa.Text)
        )
        lost = (
            sa.select(sa.func.count())
            .select_from(sa.table(table, column))
            .where(column.is_not(None), changed)
        )
        count = op.get_bind().execute(lost).scalar_one()
        if count:
            raise UnsupportedChange(
                f"{count} values of {source.name!r} do not convert to {field.type}; "
                "correct them first, nothing was changed"
            )

    return run


def _restore_foreign_key(child: str, field: FieldSpec, target: str) -> Op:
    ondelete = None if field.on_delete == "no action" else field.on_delete.upper()
    return lambda op: op.create_foreign_key(
        f"fk_{child}_{field.name}", child, target, [field.name], ["id"], ondelete=ondelete
    )
