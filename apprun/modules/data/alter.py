"""Plan the change of a collection from one definition to another.

What this version changes in place, on SQLite and PostgreSQL alike: renaming the collection,
adding fields, renaming fields, dropping fields, adding and dropping indexes and unique
fields, and anything that lives only in apprun (policies, hidden, pattern, default for
new rows). Changing a field's type or its database constraints needs a table rebuild, which
is not done yet: such a plan is refused with a message saying so.
"""

from __future__ import annotations

from collections.abc import Mapping

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


def plan_alter(old: CollectionSpec, new: CollectionSpec, dialect: str) -> Plan:
    """The steps from ``old`` to ``new``; raises UnsupportedChange for what it cannot do."""
    table = old.name
    renames, added, dropped = _field_mapping(old, new)
    _refuse_physical_changes(old, new, renames)
    steps: list[Step] = []
    old_indexes = index_specs(old)
    new_indexes = index_specs(new)
    table_renamed = new.name != old.name
    for name in old_indexes:
        if table_renamed or name not in new_indexes or new_indexes[name] != old_indexes[name]:
            steps.append(Step("drop_index", f"drop index {name}", drop_index_op(table, name)))
    if table_renamed:
        steps.append(
            Step(
                "rename_table",
                f"rename collection {table} to {new.name}",
                _rename_table(old.name, new.name),
            )
        )
        table = new.name
    for before, after in renames.items():
        steps.append(
            Step(
                "rename_field",
                f"rename field {before} to {after}",
                _rename_column(table, before, after),
            )
        )
    for spec in dropped:
        if spec.type == "relation" and dialect == "sqlite":
            raise UnsupportedChange(
                f"dropping the relation field {spec.name!r} needs a table rebuild on SQLite, "
                "which this version does not do yet"
            )
        steps.append(
            Step(
                "drop_field",
                f"drop field {spec.name} and its values",
                _drop_column(table, spec.name),
                destructive=True,
            )
        )
    for spec in added:
        if spec.required and spec.default is None:
            raise UnsupportedChange(
                f"the new required field {spec.name!r} needs a default for the existing rows"
            )
        steps.append(
            Step("add_field", f"add field {spec.name} ({spec.type})", _add_column(table, spec))
        )
    for name, (fields, unique) in new_indexes.items():
        if table_renamed or name not in old_indexes or new_indexes[name] != old_indexes[name]:
            steps.append(
                Step(
                    "create_index",
                    f"create index {name} on ({', '.join(fields)})",
                    create_index_op(table, name, fields, unique),
                )
            )
    return Plan(new.name, steps)


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


def _refuse_physical_changes(
    old: CollectionSpec, new: CollectionSpec, renames: Mapping[str, str]
) -> None:
    new_by_name = {f.name: f for f in new.fields}
    for before in old.fields:
        after = new_by_name.get(renames.get(before.name, before.name))
        if after is None:
            continue
        changed = [attr for attr in PHYSICAL if getattr(before, attr) != getattr(after, attr)]
        if changed:
            raise UnsupportedChange(
                f"changing {', '.join(changed)} of field {before.name!r} needs a table "
                "rebuild, which this version does not do yet: add a new field instead"
            )


def _rename_table(before: str, after: str) -> Op:
    return lambda op: op.rename_table(before, after)


def _rename_column(table: str, before: str, after: str) -> Op:
    return lambda op: op.alter_column(table, before, new_column_name=after)


def _drop_column(table: str, name: str) -> Op:
    return lambda op: op.drop_column(table, name)


def _add_column(table: str, spec: FieldSpec) -> Op:
    return lambda op: op.add_column(table, build_column(table, spec))
