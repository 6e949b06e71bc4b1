"""End users' passwords: argon2id hashes (in a thread: hashing is CPU work) and the strength
policy — a minimum length, no composition rules, no truncation or case folding, and none of
the 30,000 most common passwords (the list zxcvbn ships, from leaked-password corpora)."""

from __future__ import annotations

from functools import cache

import anyio
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from apprun.lib.passwords import hash_password, verify_password
from apprun.modules.auth.config import MAX_PASSWORD_LENGTH
from apprun.modules.auth.errors import ValidationFailed, WeakPassword


@cache
def common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def weakness(password: str, min_length: int) -> list[str]:
    """GoTrue's reasons (``length``, ``pwned``) that make this password too weak; [] if none."""
    reasons = []
    if len(password) < min_length:
        reasons.append("length")
    # The list is lowercase; a capitalised "Password1" is just as guessable.
    if password in common_passwords() or password.lower() in common_passwords():
        reasons.append("pwned")
    return reasons


def check_strength(password: str, min_length: int) -> None:
    """Raise ``WeakPassword`` (422) or ``ValidationFailed`` (too long) for a new password."""
    if len(password.encode()) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"Password cannot be longer than {MAX_PASSWORD_LENGTH} bytes.",
            details={"field": "password"},
        )
    reasons = weakness(password, min_length)
    if reasons:
        parts = []
        if "length" in reasons:
            parts.append(f"Password should be at least {min_length} characters.")
        if "pwned" in reasons:
            parts.append("Password is known to be weak and easy to guess, choose a different one.")
        raise WeakPassword(reasons, " ".join(parts))


async def hash_new(password: str) -> str:
    return await anyio.to_thread.run_sync(hash_password, password)


async def matches(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists (a dummy hash is checked instead)."""
    if len(password.encode()) > MAX_PASSWORD_LENGTH:
        password = password[:MAX_PASSWORD_LENGTH]  # still spend the hash; it cannot match
        password_hash = None
    return await anyio.to_thread.run_sync(verify_password, password_hash, password)
