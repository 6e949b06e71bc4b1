"""One-time tokens, with GoTrue's semantics.

A token is a numeric code (``otp_length`` digits) mailed to an address. Its *token hash* is the
hex SHA-224 of (address + code): links and ``generate_link`` carry that hash, the code is typed
in by hand. Only the SHA-256 of the token hash is stored, so a database dump opens nothing.
A token is single use, expires after ``otp_expiry_seconds``, and a new token of one type for a
user replaces the previous one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.ids import new_id
from apprun.lib.crypto import sha256_hex
from apprun.modules.auth import emailstore

PKCE_PREFIX = "pkce_"
MAX_DRAWS = 5


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of mailed token: how it is stored, linked, mailed and rate-guarded."""

    token_type: str
    """``one_time_tokens.token_type``."""
    link_type: str
    """``type`` in the link and ``verification_type`` of generate_link."""
    template: str
    """The mail template (GoTrue's names)."""
    flow_method: str
    """The sign-in method a PKCE exchange records (``amr``)."""
    sent_at: str | None
    """The ``users`` column stamped when it is mailed (and read by the per-address guard)."""


CONFIRMATION = Kind(
    "confirmation", "signup", "confirmation", "email/signup", "confirmation_sent_at"
)
INVITE = Kind("invite", "invite", "invite", "invite", "invited_at")
MAGIC_LINK = Kind("magiclink", "magiclink", "magic_link", "magiclink", "recovery_sent_at")
RECOVERY = Kind("recovery", "recovery", "recovery", "recovery", "recovery_sent_at")
EMAIL_CHANGE_NEW = Kind(
    "email_change_new", "email_change", "email_change", "email_change", "email_change_sent_at"
)
EMAIL_CHANGE_CURRENT = Kind(
    "email_change_current", "email_change", "email_change", "email_change", "email_change_sent_at"
)
REAUTHENTICATION = Kind("reauthentication", "reauthentication", "reauthentication", "", None)

EMAIL_CHANGE_TYPES = [EMAIL_CHANGE_NEW.token_type, EMAIL_CHANGE_CURRENT.token_type]

VERIFY_TYPES: dict[str, list[str]] = {
    "signup": [CONFIRMATION.token_type],
    "invite": [INVITE.token_type],
    "magiclink": [MAGIC_LINK.token_type],
    "recovery": [RECOVERY.token_type],
    "email_change": EMAIL_CHANGE_TYPES,
    # supabase-js's verifyOtp({type: "email"}): the code of a confirmation or a magic link.
    "email": [CONFIRMATION.token_type, MAGIC_LINK.token_type],
}
"""``type`` of POST/GET /verify → the token types it accepts."""


@dataclass(frozen=True, slots=True)
class Issued:
    """A token just issued: the code to mail and the hash links carry."""

    token_id: str
    otp: str
    token_hash: str


def new_otp(length: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


def token_hash(key: bytes, address: str, otp: str) -> str:
    """The token hash links carry: 56 hex digits as GoTrue's (a SHA-224 of the address and the
    code), but keyed (HMAC-SHA-224 with the project's OTP key), so that nobody who lacks the
    key can turn a guessed code into a hash and try it without naming the address."""
    return hmac.new(key, f"{address}{otp}".encode(), hashlib.sha224).hexdigest()


def stored_hash(hashed_token: str) -> str:
    """What the database keeps of a token hash (``pkce_`` prefix ignored)."""
    return sha256_hex(hashed_token.removeprefix(PKCE_PREFIX).encode())


async def issue(
    conn: AsyncConnection,
    now: datetime,
    key: bytes,
    *,
    user_id: str,
    kind: Kind,
    address: str,
    length: int,
    lifetime_seconds: int,
    flow_state_id: str | None = None,
) -> Issued:
    """A new token of ``kind`` for the user (inside the caller's transaction), replacing the
    previous one of that kind."""
    await emailstore.delete_user_tokens(conn, user_id, [kind.token_type])
    for _ in range(MAX_DRAWS):
        otp = new_otp(length)
        hashed = token_hash(key, address, otp)
        token_id = new_id()
        try:
            await emailstore.insert_token(
                conn,
                {
                    "id": token_id,
                    "user_id": user_id,
                    "token_type": kind.token_type,
                    "token_hash": stored_hash(hashed),
                    "relates_to": address,
                    "flow_state_id": flow_state_id,
                    "created_at": now,
                    "expires_at": now + timedelta(seconds=lifetime_seconds),
                },
            )
        except emailstore.TokenHashTaken:
            continue  # another kind of token to this address drew the same code
        return Issued(token_id, otp, hashed)
    raise RuntimeError("could not draw a unique one-time code")


async def find(
    conn: AsyncConnection, now: datetime, hashed_token: str, token_types: list[str]
) -> Any:
    """The live token with this hash among ``token_types``, or None (unknown, used, expired,
    or of another type: the caller answers all of them alike)."""
    row = await emailstore.select_token(conn, stored_hash(hashed_token))
    if row is None or row["token_type"] not in token_types or now >= row["expires_at"]:
        return None
    return row


async def consume(conn: AsyncConnection, row: Any) -> bool:
    """Use the token up; False when a concurrent request used it first."""
    return await emailstore.delete_token(conn, row["id"])


async def consume_nonce(
    conn: AsyncConnection, now: datetime, key: bytes, user_id: str, email: str, nonce: str
) -> bool:
    """A reauthentication code sent to ``email`` for this user: valid → used up, True."""
    hashed = token_hash(key, email, nonce.strip())
    row = await find(conn, now, hashed, [REAUTHENTICATION.token_type])
    if row is None or row["user_id"] != user_id:
        return False
    return await consume(conn, row)


async def last_issued(conn: AsyncConnection, user_id: str, kind: Kind) -> datetime | None:
    rows = await emailstore.select_user_tokens(conn, user_id, [kind.token_type])
    return max((row["created_at"] for row in rows), default=None)
