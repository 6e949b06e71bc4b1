"""Upserts: ``INSERT … ON CONFLICT`` checked against the insert and update policies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from apprun.lib.postgrest.query import ApiRequest
from apprun.modules.data import rowstore
from apprun.modules.data.access import Gate
from apprun.modules.data.restsql import Columns

Row = dict[str, Any]


@dataclass
class Upsert:
    """``INSERT … ON CONFLICT`` with the policies of both halves: new rows pass the insert
    check; for a merge, the rows it overwrites must be ones the caller may update, and must
    still be after."""

    cols: Columns
    req: ApiRequest
    rows: list[Row]
    resolution: Literal["merge-duplicates", "ignore-duplicates"]
    sent: list[str]

    async def run(self, conn: Any, gate: Gate, merge_gate: Gate | None) -> tuple[list[Row], int]:
        conflict = list(self.req.on_conflict or ("id",))
        for column in conflict:
            self.cols.field(column)
        table = self.cols.table
        keys = {tuple(row.get(c) for c in conflict) for row in self.rows}
        match = sa.or_(
            *[
                sa.and_(*[table.c[c] == v for c, v in zip(conflict, key, strict=True)])
                for key in keys
            ]
        )
        existing = await rowstore.select_for_write(conn, table, match)
        known = {tuple(row[c] for c in conflict) for row in existing}
        fresh = [r for r in self.rows if tuple(r.get(c) for c in conflict) not in known]
        await gate.check_new_rows(conn, fresh)
        ids = [row["id"] for row in existing]
        if merge_gate is not None and ids:
            outside = (
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.id.in_(ids), sa.not_(merge_gate.filter(table)))
            )
            if await conn.scalar(outside):
                raise merge_gate.violation()
        mode: Literal["merge", "ignore"] = (
            "merge" if self.resolution == "merge-duplicates" else "ignore"
        )
        written = await rowstore.upsert_rows(conn, table, self.rows, conflict, mode, self.sent)
        if merge_gate is not None:
            await merge_gate.check_written(conn, table, ids)
        # A merge that inserts nothing answers 200, so count what was new.
        inserted = sum(1 for row in written if tuple(row[c] for c in conflict) not in known)
        return written, inserted


def sent_keys(req: ApiRequest, body: Any) -> list[str]:
    """The columns the client sent: what a merge may overwrite (not the filled defaults)."""
    if req.columns is not None:
        return list(req.columns)
    items = body if isinstance(body, list) else [body]
    return list(dict.fromkeys(key for item in items for key in item))
