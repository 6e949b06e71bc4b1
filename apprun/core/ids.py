"""Identifier generation: UUIDv7 strings, time-ordered so that indexes stay compact."""

from __future__ import annotations

import uuid_utils


def new_id() -> str:
    """A new UUIDv7 as its canonical lowercase string."""
    return str(uuid_utils.uuid7())
