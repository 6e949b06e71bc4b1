"""The SQL of rows in collections: select, count, insert, upsert, update, delete, and the
translation of database errors into PostgREST's codes and statuses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from apprun.modules.data.errors import RestBadRequest, RestConflict, RestError

Row = dict[str, Any]
Where = ColumnElement[bool]


async def select_rows(
    conn: AsyncConnection,
    table: sa.Table,
    columns: Sequence[ColumnElement[Any]],
    where: Where,
    order: Sequence[ColumnElement[Any]],
    limit: int,
    offset: int,
) -> list[Row]:
    stmt = sa.select(*columns).where(where).order_by(*order).limit(limit).offset(offset)
    result = await conn.execute(stmt)
    return _rows(result)


async def count_rows(conn: AsyncConnection, table: sa.Table, where: Where) -> int:
    result = await conn.execute(sa.select(sa.func.count()).select_from(table).where(where))
    return int(result.scalar_one())


async def insert_rows(conn: AsyncConnection, table: sa.Table, rows: list[Row]) -> list[Row]:
    if not rows:
        return []
    result = await conn.execute(sa.insert(table).returning(*table.c), rows)
    return _rows(result)


async def upsert_rows(
    conn: AsyncConnection,
    table: sa.Table,
    rows: list[Row],
    conflict: Sequence[str],
    mode: Literal["merge", "ignore"],
    sent: Sequence[str],
) -> list[Row]:
    """``INSERT … ON CONFLICT``: merge updates the ``sent`` columns, ignore skips the row."""
    if not rows:
        return []
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table)
    if mode == "ignore":
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    else:
        updated = [k for k in (*sent, "updated_at") if k not in (*conflict, "id")]
        stmt = stmt.on_conflict_do_update(
            index_elements=list(conflict), set_={k: stmt.excluded[k] for k in updated}
        )
    result = await conn.execute(stmt.returning(*table.c), rows)
    return _rows(result)


async def select_for_write(conn: AsyncConnection, table: sa.Table, where: Where) -> list[Row]:
    """The rows a write will touch, as they are before it (locked on PostgreSQL)."""
    stmt = sa.select(*table.c).where(where)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    result = await conn.execute(stmt)
    return _rows(result)


async def update_rows(
    conn: AsyncConnection, table: sa.Table, ids: Sequence[str], values: Row
) -> list[Row]:
    stmt = sa.update(table).where(table.c.id.in_(ids)).values(**values).returning(*table.c)
    result = await conn.execute(stmt)
    return _rows(result)


async def delete_rows(conn: AsyncConnection, table: sa.Table, ids: Sequence[str]) -> None:
    await conn.execute(sa.delete(table).where(table.c.id.in_(ids)))


def _rows(result: sa.CursorResult[Any]) -> list[Row]:
    # Column names can be str subclasses (quoted_name); JSON encoders want plain str keys.
    return [{str(key): value for key, value in row.items()} for row in result.mappings()]


_SQLITE_ERRORS = (
    (re.compile(r"UNIQUE constraint failed: [\w.]+\.(\w+)"), "23505"),
    (re.compile(r"NOT NULL constraint failed: [\w.]+\.(\w+)"), "23502"),
    (re.compile(r"CHECK constraint failed: (\w+)"), "23514"),
    (re.compile(r"FOREIGN KEY constraint failed()"), "23503"),
)
_MESSAGES = {
    "23505": "duplicate key value violates unique constraint",
    "23502": "null value in column violates not-null constraint",
    "23514": "new row violates check constraint",
    "23503": "insert or update violates foreign key constraint",
}


def database_error(exc: DBAPIError, collection: str) -> RestError:
    """A database error as PostgREST reports it (SQLSTATE code, 409 for conflicts)."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    detail = getattr(getattr(orig, "__cause__", None), "detail", None)
    text = str(orig).split(": ", 1)[-1].strip()
    if code is None:
        for pattern, sqlstate in _SQLITE_ERRORS:
            match = pattern.search(str(orig))
            if match:
                code, name = sqlstate, match.group(1)
                text = f'{_MESSAGES[sqlstate]} "{name}"' if name else _MESSAGES[sqlstate]
                detail = f"Failing row in {collection}."
                break
    code = str(code or "XX000")
    if code in ("23505", "23503"):
        return RestConflict(text, pg_code=code, details=detail)
    if code.startswith(("22", "23", "42")):
        return RestBadRequest(text, pg_code=code, details=detail)
    raise exc  # anything else is not the client's fault: a 500, logged
