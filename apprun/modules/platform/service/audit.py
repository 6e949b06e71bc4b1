"""The audit log: an append-only, hash-chained record of administrative and security actions.

Each entry stores the hash of the entry before it and its own hash over its content, and the
chain head (last seq and hash) is kept in ``audit_head``. ``verify`` recomputes the chain: a
modified entry breaks its own hash, a deleted one breaks the sequence or the next entry's
``prev_hash``, and a deleted tail no longer matches the head.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.clock import Clock
from apprun.core.context import RequestContext
from apprun.core.tenancy import Tenancy
from apprun.lib.crypto import sha256_hex
from apprun.modules.platform import store
from apprun.modules.platform.schemas import (
    AuditEntry,
    AuditPage,
    AuditQuery,
    AuditVerification,
)

GENESIS = "0" * 64
VERIFY_BATCH = 1000


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of every field but the hash itself."""
    content = {k: v for k, v in entry.items() if k != "hash"}
    content["time"] = _iso(content["time"])
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_hex(canonical.encode())


def _iso(value: datetime | str) -> str:
    return value if isinstance(value, str) else value.isoformat(timespec="microseconds")


class AuditLog:
    def __init__(self, tenancy: Tenancy, clock: Clock) -> None:
        self._tenancy = tenancy
        self._clock = clock

    async def append(
        self,
        conn: AsyncConnection,
        ctx: RequestContext,
        action: str,
        target: str | None = None,
        details: dict[str, Any] | None = None,
        *,
        project_id: str | None = None,
    ) -> None:
        """Append an entry inside the caller's control-database transaction."""
        head = await store.lock_audit_head(conn)
        entry: dict[str, Any] = {
            "seq": int(head["seq"]) + 1,
            "time": self._clock.now(),
            "actor": ctx.principal.actor,
            "action": action,
            "target": target,
            "project_id": project_id,
            "request_id": ctx.request_id,
            "ip": ctx.client_ip,
            "details": json.dumps(details or {}, sort_keys=True, separators=(",", ":")),
            "prev_hash": head["hash"],
        }
        entry["hash"] = entry_hash(entry)
        await store.append_audit(conn, entry)

    async def record(
        self,
        ctx: RequestContext,
        action: str,
        target: str | None = None,
        *,
        project_id: str | None = None,
        **details: Any,
    ) -> None:
        """Append an entry in a transaction of its own."""
        async with self._tenancy.control.tx() as conn:
            await self.append(conn, ctx, action, target, details, project_id=project_id)

    async def query(self, query: AuditQuery) -> AuditPage:
        filters = query.model_dump(exclude={"before", "limit"})
        async with self._tenancy.control.read() as conn:
            rows = await store.select_audit(conn, filters, query.before, query.limit + 1)
        entries = [_to_entry(row) for row in rows[: query.limit]]
        more = len(rows) > query.limit
        return AuditPage(entries=entries, next_cursor=entries[-1].seq if more else None)

    async def verify(self) -> AuditVerification:
        problems: list[str] = []
        prev_seq, prev_hash, checked = 0, GENESIS, 0
        async with self._tenancy.control.read() as conn:
            while True:
                rows = await store.select_audit_chain(conn, prev_seq, VERIFY_BATCH)
                for row in rows:
                    entry = dict(row)
                    seq = int(entry["seq"])
                    if seq != prev_seq + 1:
                        problems.append(f"entries {prev_seq + 1}..{seq - 1} are missing")
                    if entry["prev_hash"] != prev_hash:
                        problems.append(f"entry {seq} does not follow the entry before it")
                    if entry_hash(entry) != entry["hash"]:
                        problems.append(f"entry {seq} was modified")
                    prev_seq, prev_hash = seq, entry["hash"]
                    checked += 1
                if len(rows) < VERIFY_BATCH:
                    break
            head = await store.select_audit_head(conn)
        if int(head["seq"]) != prev_seq or head["hash"] != prev_hash:
            problems.append(
                f"the chain ends at entry {prev_seq} but the head records entry {head['seq']}"
            )
        return AuditVerification(ok=not problems, checked=checked, problems=problems)


def _to_entry(row: Any) -> AuditEntry:
    data = dict(row)
    data["details"] = json.loads(data["details"])
    return AuditEntry.model_validate(data)
