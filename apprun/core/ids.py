"""Identifier generation: UUIDv7 strings, time-ordered so that indexes stay compact."""

from __future__ import annotations

import secrets

import uuid_utils


def new_id() -> str:
    """A new UUIDv7 as its canonical lowercase string."""
    return str(uuid_utils.uuid7())


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random secret of ``nbytes`` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)
