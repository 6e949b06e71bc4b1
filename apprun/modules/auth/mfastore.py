"""SQL for MFA: factors, their challenges, recovery codes, and the sessions a factor raised."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.modules.auth.tables import mfa_challenges, mfa_factors, mfa_recovery_codes, sessions


class FactorNameTaken(Exception):
    """The user already has a factor of this friendly name (unique per user)."""


# Factors
async def insert_factor(conn: AsyncConnection, values: dict[str, Any]) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(mfa_factors.insert().values(**values))
    except IntegrityError as exc:
        raise FactorNameTaken(str(exc.orig)) from None


async def select_factor(conn: AsyncConnection, factor_id: str) -> Any:
    query = sa.select(mfa_factors).where(mfa_factors.c.id == factor_id)
    return (await conn.execute(query)).mappings().first()


async def update_factor(conn: AsyncConnection, factor_id: str, values: dict[str, Any]) -> None:
    await conn.execute(mfa_factors.update().where(mfa_factors.c.id == factor_id).values(**values))


async def delete_factors(conn: AsyncConnection, factor_ids: list[str]) -> None:
    if factor_ids:
        await conn.execute(mfa_factors.delete().where(mfa_factors.c.id.in_(factor_ids)))


async def delete_unverified_factors(
    conn: AsyncConnection, user_id: str, factor_type: str, *, keep: str
) -> list[str]:
    """Delete the user's unverified factors of one type but ``keep``; → their ids."""
    where = (
        mfa_factors.c.user_id == user_id,
        mfa_factors.c.factor_type == factor_type,
        mfa_factors.c.status == "unverified",
        mfa_factors.c.id != keep,
    )
    ids = list((await conn.execute(sa.select(mfa_factors.c.id).where(*where))).scalars())
    await delete_factors(conn, ids)
    return ids


async def claim_step(conn: AsyncConnection, factor_id: str, step: int, now: datetime) -> bool:
    """Record ``step`` as the factor's last used TOTP step; False when it (or a later one) was
    already used, also by a concurrent request."""
    column = mfa_factors.c.last_used_step
    result = await conn.execute(
        mfa_factors.update()
        .where(mfa_factors.c.id == factor_id, sa.or_(column.is_(None), column < step))
        .values(last_used_step=step, updated_at=now)
    )
    return bool(result.rowcount)


# Challenges
async def insert_challenge(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(mfa_challenges.insert().values(**values))


async def select_challenge(conn: AsyncConnection, challenge_id: str, factor_id: str) -> Any:
    query = sa.select(mfa_challenges).where(
        mfa_challenges.c.id == challenge_id, mfa_challenges.c.factor_id == factor_id
    )
    return (await conn.execute(query)).mappings().first()


async def count_challenges_since(conn: AsyncConnection, factor_id: str, since: datetime) -> int:
    query = sa.select(sa.func.count()).where(
        mfa_challenges.c.factor_id == factor_id, mfa_challenges.c.created_at > since
    )
    return int(await conn.scalar(query) or 0)


async def failures_since(conn: AsyncConnection, factor_id: str, since: datetime) -> int:
    """Wrong codes sent for the factor's challenges created since ``since``."""
    query = sa.select(sa.func.coalesce(sa.func.sum(mfa_challenges.c.attempts), 0)).where(
        mfa_challenges.c.factor_id == factor_id, mfa_challenges.c.created_at > since
    )
    return int(await conn.scalar(query) or 0)


async def add_failed_attempt(conn: AsyncConnection, challenge_id: str) -> None:
    await conn.execute(
        mfa_challenges.update()
        .where(mfa_challenges.c.id == challenge_id)
        .values(attempts=mfa_challenges.c.attempts + 1)
    )


async def mark_challenge_verified(conn: AsyncConnection, challenge_id: str, now: datetime) -> bool:
    """False when another request verified the challenge first."""
    result = await conn.execute(
        mfa_challenges.update()
        .where(mfa_challenges.c.id == challenge_id, mfa_challenges.c.verified_at.is_(None))
        .values(verified_at=now)
    )
    return bool(result.rowcount)


async def delete_challenges_before(conn: AsyncConnection, factor_id: str, cutoff: datetime) -> None:
    await conn.execute(
        mfa_challenges.delete().where(
            mfa_challenges.c.factor_id == factor_id, mfa_challenges.c.created_at < cutoff
        )
    )


# Recovery codes
async def replace_recovery_codes(
    conn: AsyncConnection, user_id: str, code_hashes: list[str], now: datetime
) -> None:
    await delete_recovery_codes(conn, user_id)
    await conn.execute(
        mfa_recovery_codes.insert(),
        [{"user_id": user_id, "code_hash": h, "created_at": now} for h in code_hashes],
    )


async def delete_recovery_codes(conn: AsyncConnection, user_id: str) -> int:
    query = mfa_recovery_codes.delete().where(mfa_recovery_codes.c.user_id == user_id)
    return (await conn.execute(query)).rowcount


async def select_recovery_codes(conn: AsyncConnection, user_id: str) -> list[Any]:
    query = sa.select(mfa_recovery_codes).where(mfa_recovery_codes.c.user_id == user_id)
    return list((await conn.execute(query)).mappings())


async def use_recovery_code(
    conn: AsyncConnection, user_id: str, code_hash: str, now: datetime
) -> bool:
    """Spend an unused code; False when there is none of this hash (or it was just spent)."""
    result = await conn.execute(
        mfa_recovery_codes.update()
        .where(
            mfa_recovery_codes.c.user_id == user_id,
            mfa_recovery_codes.c.code_hash == code_hash,
            mfa_recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return bool(result.rowcount)


# Sessions raised by a second factor
async def select_aal2_sessions(conn: AsyncConnection, user_id: str) -> list[Any]:
    query = sa.select(sessions).where(sessions.c.user_id == user_id, sessions.c.aal == "aal2")
    return list((await conn.execute(query)).mappings())
