"""Plan the change of a collection from one definition to another.

What this version changes in place, on SQLite and PostgreSQL alike: renaming the collection,
adding fields, renaming fields, dropping fields, adding and dropping indexes and unique
fields, and anything that lives only in apprun (policies, hidden, pattern, default for
new rows). Changing a field's type or its database constraints, and adding or dropping a
relation field on SQLite, rebuild the table (``rebuild.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alembic.operations import Operations

from apprun.modules.data.ddl import (
    Op,
    Plan,
    Step,
    UnsupportedChange,
    build_column,
    create_index_op,
    drop_index_op,
    index_specs,
)
from apprun.modules.data.rebuild import CHILD, plan_rebuild
from apprun.modules.data.schemas import CollectionSpec, FieldSpec

# What the database itself enforces about a field; changing these needs a rebuild.
PHYSICAL = (
    "type",
    "required",
    "min",
    "max",
    "min_length",
    "max_length",
    "values",
    "collection",
    "on_delete",
)


def plan_alter(
    old: CollectionSpec, new: CollectionSpec, dialect: str, children: Sequence[CHILD] = ()
) -> Plan:
    """The steps from ``old`` to ``new``; raises UnsupportedChange for what it cannot do.

    ``children`` are the relation fields of other collections that point at this one (a
    rebuild on PostgreSQL restores their foreign keys).
    """
    renames, added, dropped = _field_mapping(old, new)
    if _needs_rebuild(old, new, renames, [*dropped, *added], dialect):
        drops = [
            Step("drop_field", f"drop field {spec.name} and its values", _nothing, destructive=True)
            for spec in dropped
        ]
        rebuilt = [*drops, *plan_rebuild(old, new, renames, dialect, children)]
        return Plan(new.name, rebuilt, rebuild=True)
    table_renamed = new.name != old.name
    steps = _index_steps(old, new, old.name, dropping=True)
    if table_renamed:
        steps.append(
            Step(
                "rename_table",
                f"rename collection {old.name} to {new.name}",
                _rename_table(old.name, new.name),
            )
        )
    table = new.name
    steps += [
        Step(
            "rename_field",
            f"rename field {before} to {after}",
            _rename_column(table, before, after),
        )
        for before, after in renames.items()
    ]
    steps += [
        Step(
            "drop_field",
            f"drop field {spec.name} and its values",
            _drop_column(table, spec.name),
            destructive=True,
        )
        for spec in dropped
    ]
    for spec in added:
        if spec.required and spec.default is None:
            raise UnsupportedChange(
                f"the new required field {spec.name!r} needs a default for the existing rows"
            )
        steps.append(
            Step("add_field", f"add field {spec.name} ({spec.type})", _add_column(table, spec))
        )
    steps += _index_steps(old, new, table, dropping=False)
    return Plan(new.name, steps)


def _index_steps(
    old: CollectionSpec, new: CollectionSpec, table: str, *, dropping: bool
) -> list[Step]:
    """Indexes that change (all of them when the collection is renamed): dropped before the
    field changes, created after."""
    before, after = index_specs(old), index_specs(new)
    renamed = new.name != old.name
    if dropping:
        return [
            Step("drop_index", f"drop index {name}", drop_index_op(table, name))
            for name in before
            if renamed or before[name] != after.get(name)
        ]
    return [
        Step(
            "create_index",
            f"create index {name} on ({', '.join(fields)})",
            create_index_op(table, name, fields, unique),
        )
        for name, (fields, unique) in after.items()
        if renamed or after[name] != before.get(name)
    ]


def _field_mapping(
    old: CollectionSpec, new: CollectionSpec
) -> tuple[dict[str, str], list[FieldSpec], list[FieldSpec]]:
    old_names = {f.name for f in old.fields}
    renames: dict[str, str] = {}
    added: list[FieldSpec] = []
    for spec in new.fields:
        if spec.renamed_from and spec.renamed_from != spec.name:
            if spec.renamed_from not in old_names:
                raise UnsupportedChange(
                    f"field {spec.name!r} is renamed from {spec.renamed_from!r}, "
                    "which does not exist"
                )
            renames[spec.renamed_from] = spec.name
        elif spec.name not in old_names:
            added.append(spec)
    kept = set(renames) | {f.name for f in new.fields if f.name in old_names}
    dropped = [f for f in old.fields if f.name not in kept]
    return renames, added, dropped


def _needs_rebuild(
    old: CollectionSpec,
    new: CollectionSpec,
    renames: Mapping[str, str],
    added_or_dropped: list[FieldSpec],
    dialect: str,
) -> bool:
    """Whether ALTER TABLE cannot do it: a changed type or database constraint, or (SQLite,
    which cannot add or drop a foreign key in place) an added or dropped relation field."""
    if dialect == "sqlite" and any(spec.type == "relation" for spec in added_or_dropped):
        return True
    new_by_name = {f.name: f for f in new.fields}
    for before in old.fields:
        after = new_by_name.get(renames.get(before.name, before.name))
        if after is not None and any(
            getattr(before, attr) != getattr(after, attr) for attr in PHYSICAL
        ):
            return True
    return False


def _nothing(_: Operations) -> None:
    """A step that only reports (the rebuild's copy leaves the dropped field behind)."""


def _rename_table(before: str, after: str) -> Op:
    return lambda op: op.rename_table(before, after)


def _rename_column(table: str, before: str, after: str) -> Op:
    return lambda op: op.alter_column(table, before, new_column_name=after)


def _drop_column(table: str, name: str) -> Op:
    return lambda op: op.drop_column(table, name)


def _add_column(table: str, spec: FieldSpec) -> Op:
    return lambda op: op.add_column(table, build_column(table, spec))
